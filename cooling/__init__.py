"""dc-cooling: a physics-based datacenter chilled-water plant, RL environments and a
safety-shielded controller."""

__version__ = "0.1.0"
__all__ = ["__version__"]
