"""The web pages in headless Chromium against the real server: log in, decide in the inbox (the
waiting agent thread resumes), roles and four eyes hold in the browser too, the chat streams an
answer with its cited frame, and the incident, fleet and campaign pages show what is there."""

from __future__ import annotations

import httpx
import numpy as np
import pytest
from PIL import Image

from robotops.memory.approval_models import Actor, ApprovalCreate

STEWARD = Actor(name="rollout-steward", role="engineer", is_agent=True)


@pytest.fixture(scope="module")
def judged(site):
    """A pending promotion backed by a judge verdict, metric deltas and a worst-run frame."""
    frame = site.deps.settings.data_dir / "judge" / "cand-v2" / "worst_run.png"
    frame.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.zeros((48, 64, 3), np.uint8)
    pixels[:, :32] = (250, 200, 40)
    Image.fromarray(pixels).save(frame)
    verdict = {
        "verdict": "promote",
        "reasons": ["phantom_stop_rate: lower by 0.25 (95% CI clear of zero)"],
        "campaign": [
            {
                "metric": "phantom_stop_rate",
                "better": "lower",
                "candidate": 0.05,
                "incumbent": 0.3,
                "delta": -0.25,
                "ci_low": -0.41,
                "ci_high": -0.09,
                "outcome": "better",
            }
        ],
        "evidence_sha256": "b" * 64,
    }
    return site.deps.approvals.request(
        ApprovalCreate(
            action="rollout_stage",
            artifact_sha256="c" * 64,
            targets=["101"],
            reason="canary v2 on #101: judged better on campaign c-1",
            evidence={"verdict": verdict, "worst_frame": str(frame)},
            risk="medium",
        ),
        STEWARD,
    )


def card(page, request_id: str) -> str:
    return f"[data-testid=request][data-id='{request_id}']"


def test_pages_need_a_login_and_refuse_an_unknown_token(browser, site):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{site.url}/ui/fleet")
    assert "/ui/login?next=/ui/fleet" in page.url
    page.fill("input[name=token]", "forged-token")
    page.click("button[type=submit]")
    assert page.inner_text("[role=alert]") == "unknown token"
    page.fill("input[name=token]", site.tokens["viewer"])
    page.click("button[type=submit]")
    page.wait_for_url(f"{site.url}/ui/fleet")
    cookie = next(c for c in context.cookies() if c["name"] == "robotops_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    context.close()


def test_the_inbox_shows_the_evidence_and_a_viewer_cannot_approve(login, site, judged, shot, image):
    page = login("viewer")
    box = card(page, judged.id)
    assert page.inner_text(f"{box} [data-testid=verdict]") == "promote"
    row = page.inner_text(f"{box} table.deltas tbody tr")
    assert "phantom_stop_rate" in row and "[-0.41, -0.09]" in row and "better" in row
    image(page, f"{box} .images img")
    assert "c" * 64 not in page.inner_text(box)  # artifact hash shown short ...
    assert "b" * 64 in page.inner_text(box)  # ... evidence hashes in full
    assert page.locator(f"{box} button.approve").count() == 0
    assert "deciding needs the approver role" in page.inner_text(f"{box} [data-testid=blocked]")
    shot(page, "inbox_viewer")
    forced = page.request.post(
        f"{site.url}/ui/inbox/{judged.id}/decision",
        form={"decision": "approve", "comment": "sneaky"},
    )
    assert forced.status == 403 and "this needs approver" in forced.text()
    assert site.deps.approvals.store.get(judged.id).status == "pending"


def test_a_requester_sees_its_request_but_cannot_approve_it(login, site):
    mine = site.deps.approvals.request(
        ApprovalCreate(action="train", artifact_sha256="d" * 64, targets=["labeler"], reason="r"),
        Actor(name="approver-1", role="approver"),
    )
    page = login("approver")
    page.reload()
    box = card(page, mine.id)
    assert "requested by you" in page.inner_text(box)
    assert page.locator(f"{box} button.approve").count() == 0
    forced = page.request.post(
        f"{site.url}/ui/inbox/{mine.id}/decision", form={"decision": "approve", "comment": ""}
    )
    assert forced.status == 403
    assert "requesters cannot approve their own requests" in forced.text()


def test_a_deploy_asked_in_chat_is_approved_in_the_inbox_and_the_thread_resumes(login, site, shot):
    engineer = login("engineer")
    engineer.goto(f"{site.url}/ui/chat")
    engineer.fill("#question", "deploy v1 to #101")
    engineer.click("form#ask button")
    engineer.wait_for_selector("[data-testid=turn]:not([data-state=asking])", timeout=60_000)
    state = engineer.get_attribute("[data-testid=turn]", "data-state")
    assert state == "waiting", engineer.inner_text("[data-testid=answer]")
    link = engineer.get_attribute("[data-testid=approval-link]", "href")
    request_id = link.rsplit("/", 1)[-1]
    shot(engineer, "chat_waiting")

    approver = login("approver")
    approver.reload()
    box = card(approver, request_id)
    approver.fill(f"{box} [data-testid=comment]", "canary looks fine")
    shot(approver, "inbox_approver")
    approver.click(f"{box} button.approve")
    approver.wait_for_url(f"{site.url}/ui/inbox/{request_id}")
    assert approver.get_attribute("[data-testid=thread]", "data-status") == "done"
    assert "deployed v1 to 101 (approved by approver-1)" in approver.inner_text(
        "[data-testid=thread-answer]"
    )
    assert approver.get_attribute(card(approver, request_id), "data-status") == "used"
    trail = approver.inner_text("table.audit")
    assert "approved" in trail and "canary looks fine" in trail and "authorized" in trail
    shot(approver, "approval_decided")


def test_the_chat_streams_an_answer_with_its_frame_and_the_incident_page(login, site, shot, image):
    page = login("engineer")
    page.goto(f"{site.url}/ui/chat")
    page.fill("#question", "why did #102 stall?")
    page.click("form#ask button")
    page.wait_for_selector("[data-testid=turn]:not([data-state=asking])", timeout=120_000)
    answer = page.inner_text("[data-testid=answer]")
    assert page.get_attribute("[data-testid=turn]", "data-state") == "answered", answer
    assert "glare" in answer
    image(page, "[data-testid=cited-frame]")
    image(page, "[data-testid=chat-timeline]")
    shot(page, "chat_answer")

    page.click("[data-testid=incident-link]")
    page.wait_for_selector("[data-testid=incident-title]")
    assert page.inner_text("[data-testid=incident-title]").startswith("#102 stall")
    image(page, "[data-testid=timeline]")
    image(page, "[data-testid=frame]")
    assert page.locator("[data-testid=frame]").count() >= 2
    shot(page, "incident")


def store_campaign(settings) -> str:
    """A small stored campaign (two policies, eight seeds) and the judge's real report on it."""
    from robotops.sim.campaign.models import CampaignRequest, PolicyRef, RunMetrics, RunResult
    from robotops.sim.campaign.store import CampaignStore
    from robotops.sim.scenarios.spec import ScenarioSpec
    from robotops.sim.world.specs import WorldSpec
    from robotops.tools.judge.compare import judge
    from robotops.tools.judge.models import JudgeConfig, JudgeRequest
    from robotops.tools.judge.report import write_report

    scenario = ScenarioSpec(scenario_id="glare-1", family="glare", world=WorldSpec())
    policies = [
        PolicyRef(version=v, weights_path=f"{v}.pt", sha256=c * 64)
        for v, c in (("v1", "1"), ("v2", "2"))
    ]
    store = CampaignStore.from_settings(settings)
    store.register(CampaignRequest(campaign_id="c-1", scenarios=[scenario], policies=policies), 16)
    runs = []
    for p in policies:
        for seed in range(8):
            stall = (6.0 if p.version == "v1" else 1.0) + 0.5 * (seed % 3)
            runs.append(
                RunResult(
                    run_id=f"{p.version}-{seed}",
                    campaign_id="c-1",
                    scenario_id="glare-1",
                    scenario_sha256=scenario.sha256(),
                    family="glare",
                    policy_version=p.version,
                    policy_sha256=p.sha256,
                    seed=seed,
                    status="ok",
                    metrics=RunMetrics(
                        reached_goal=True,
                        stall_time_s=stall,
                        time_to_goal_s=30 + stall,
                        phantom_stops=int(p.version == "v1" and seed % 2 == 0),
                    ),
                )
            )
            store.put(runs[-1])
    request = JudgeRequest(
        candidate_version="v2",
        incumbent_version="v1",
        campaign_runs=runs,
        config=JudgeConfig(min_runs=5, resamples=200),
    )
    write_report(judge(request), runs, [], settings.data_dir / "judge" / "c-1-v2")
    return "c-1"


def test_the_fleet_and_campaign_pages_show_what_is_there(login, site, shot, image):
    page = login("viewer")
    page.goto(f"{site.url}/ui/fleet")
    rows = page.locator("[data-testid=robot-row]").all_inner_texts()
    assert [r.split()[0] for r in rows] == ["#101", "#102"]
    assert all("v1" in r for r in rows)
    assert page.locator("[data-testid=no-rollouts]").count() == 1
    shot(page, "fleet")
    page.goto(f"{site.url}/ui/campaigns")
    assert "No campaigns yet" in page.inner_text("[data-testid=no-campaigns]")

    campaign_id = store_campaign(site.deps.settings)
    page.reload()
    page.click(f"text={campaign_id}")
    page.wait_for_url(f"{site.url}/ui/campaigns/{campaign_id}")
    verdict = page.inner_text("[data-testid=verdict-card]")
    assert "v2 vs v1" in verdict and "stall_time_s" in verdict
    image(page, "img[alt=stall_time_s]")
    shot(page, "campaign")


def test_a_viewer_cannot_open_the_chat(login, site):
    page = login("viewer")
    response = page.goto(f"{site.url}/ui/chat")
    assert response.status == 403 and "this page needs engineer" in page.inner_text("main")


def test_the_file_route_serves_only_images_inside_the_data_dir(site, judged):
    auth = {"Authorization": f"Bearer {site.tokens['viewer']}"}
    data_dir = site.deps.settings.data_dir

    def get(path: str) -> int:
        return httpx.get(f"{site.url}/ui/file", params={"path": path}, headers=auth).status_code

    assert get(judged.evidence["worst_frame"]) == 200
    assert get("judge/cand-v2/worst_run.png") == 200  # relative to the data dir
    assert get(str(site.deps.settings.tokens_path())) == 404  # inside, but not an image
    assert get("../../../../etc/passwd") == 404
    assert get(str(data_dir / ".." / "fleet" / "fleet.json")) == 404
    assert httpx.get(f"{site.url}/ui/file", params={"path": "x.png"}).status_code == 303
