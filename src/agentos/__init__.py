"""AgentOS: event-sourced orchestration of multi-agent graphs."""

__version__ = "0.1.0"
