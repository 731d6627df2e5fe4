"""Human approval of every step that touches a physical robot, enforced in code.

Nothing here trusts an agent: a request is created by a requester, decided by a different
person with the approver role, bound to one action on one artifact for named targets, and used
at most once. Every change is appended to a hash-chained audit log.
"""
