# Running from the source tree (PYTHONPATH=clients/python, as ctest does): the plugin
# is not installed, so its entry point is missing; load it here instead. pytester
# runs pytest on example test files for the plugin's own tests.
from importlib import metadata


def _installed():
    try:
        eps = metadata.entry_points(group="pytest11")
    except TypeError:  # Python < 3.10
        eps = metadata.entry_points().get("pytest11", [])
    return any(ep.value == "redpack_sim.plugin" for ep in eps)


pytest_plugins = ["pytester"] + ([] if _installed() else ["redpack_sim.plugin"])
