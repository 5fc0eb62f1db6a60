"""The factoring flow's handlers: transport-agnostic, talking to the world through ports."""
