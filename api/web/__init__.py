"""Web pages over the API: inbox, chat, incidents, campaigns, fleet. Server-rendered Jinja2."""
