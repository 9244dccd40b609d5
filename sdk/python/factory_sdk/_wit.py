"""The generated bindings, imported when the plugin is built.

componentize-py snapshots the interpreter after importing the app, and the
build's module files are not there when the component runs: a generated
module first imported during a call can fail to load. So every host module
the world has is imported here, at build time; a world without them
(tool-plugin) leaves them None.
"""

try:
    from wit_world.imports import exec as exec_
    from wit_world.imports import kv, log, model, tools
except ImportError:  # a world that does not import the host interfaces
    exec_ = kv = log = model = tools = None

try:
    from wit_world.exports import tool
except ImportError:
    tool = None

try:
    from wit_world.exports import role
except ImportError:
    role = None


def need(module, name: str):
    """`module`, or an error naming the world that has it."""
    if module is None:
        from .errors import Failed

        raise Failed(
            f"this plugin's world does not import factory:plugin/{name}: "
            "build it against tool-with-host or role-plugin"
        )
    return module
