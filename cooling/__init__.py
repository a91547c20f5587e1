"""dc-cooling: a physics-based datacenter chilled-water plant, RL environments and a
safety-shielded controller.

The gymnasium environments are registered by ``import cooling.env`` (or by ``import
cooling`` when gymnasium is already imported; the package itself never imports the
training stack, so that a deployed controller does not need it)::

    import gymnasium, cooling
    env = gymnasium.make("cooling/Enterprise-v1")
    # or, from anywhere: gymnasium.make("cooling.env:cooling/Enterprise-v1")
"""

import sys

__version__ = "0.1.0"
__all__ = ["__version__"]

if "gymnasium" in sys.modules:  # register the environments only where gymnasium is in use
    import cooling.env  # noqa: F401
