"""Many AgentOS processes on one PostgreSQL store: `Member` drives queued and orphaned
runs (see `eventstore/pg_cluster.py` for the database side)."""

from agentos.cluster.member import Member

__all__ = ["Member"]
