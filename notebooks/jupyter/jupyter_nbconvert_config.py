# nbconvert's settings for the notebook rules (rules/notebooks.smk puts this folder on
# JUPYTER_CONFIG_PATH): the kernel talks to nbconvert over Unix sockets (ipc) in a private
# temporary folder (mode 0700, removed at exit) instead of TCP ports on localhost, so no
# port is opened and the notebooks run where the network, loopback too, is down
# (`unshare -rn`). An absolute socket path: relative ones resolve against the kernel's
# folder (the notebook's), not nbconvert's.
import atexit
import os
import shutil
import tempfile

c = get_config()  # noqa: F821 (traitlets config file)
_sockets = tempfile.mkdtemp(prefix="nbkernel.")
atexit.register(shutil.rmtree, _sockets, ignore_errors=True)
c.KernelManager.transport = "ipc"
c.KernelManager.ip = os.path.join(_sockets, "kernel")
