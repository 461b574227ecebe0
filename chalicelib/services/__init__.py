"""Use cases. They talk to the ports (``chalicelib.ports``) and the domain, nothing else."""
