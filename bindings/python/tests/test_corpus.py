"""The shared case corpus (testdata/*.case, format in testdata/README.md) through the Python
API: one test per case. PLURIVERSE_CASES=DIR runs the cases of another folder instead."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

import pluriverse as pv

CASES_DIR = Path(os.environ.get("PLURIVERSE_CASES", Path(__file__).resolve().parents[3] / "testdata"))
KINDS = {"mvmap": pv.MVMap, "awset": pv.AWSet, "pncounter": pv.PNCounterMap, "lww": pv.LWWMap}

Line = Tuple[int, List[str]]


def load_cases() -> List[Any]:
    """Every case of every *.case file, as pytest params named file:case."""
    params = []
    for path in sorted(CASES_DIR.glob("*.case")):
        current: List[Line] = []
        name = None
        for n, raw in enumerate(path.read_text().splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            toks = line.split(" ")
            if toks[0] == "case":
                assert name is None, f"{path}:{n}: case inside case {name}"
                name, current = toks[1], []
            elif toks[0] == "end":
                assert name is not None, f"{path}:{n}: end outside a case"
                params.append(pytest.param(path.name, current, id=f"{path.stem}:{name}"))
                name = None
            else:
                assert name is not None, f"{path}:{n}: command outside a case"
                current.append((n, toks))
        assert name is None, f"{path}: case {name} has no end"
    return params


def parse_key(text: str, t: str) -> Any:
    if t == "utf8":
        return text
    if t == "binary":
        return text.encode()
    assert t in ("int64", "uint64"), f"unknown key type {t}"
    return int(text)


def parse_value(text: str, t: str) -> Any:
    if t == "utf8":
        return text
    if t == "binary":
        return text.encode()
    if t == "int64":
        return int(text)
    if t == "float64":
        return float(text)
    if t == "bool":
        assert text in ("true", "false"), text
        return text == "true"
    raise AssertionError(f"unknown value type {t}")


class Runner:
    def __init__(self, file: str) -> None:
        self.file = file
        self.kind = ""
        self.key_type = ""
        self.value_type = ""
        self.states: Dict[str, Any] = {}
        self.outbox: Dict[str, List[bytes]] = {}

    def key(self, text: str) -> Any:
        return parse_key(text, self.key_type)

    def value(self, text: str) -> Any:
        return parse_value(text, self.value_type)

    def write(self, r: str, op: str, args: List[str]) -> None:
        s = self.states[r]
        if op == "set":
            d = s.set(self.key(args[0]), self.value(args[1]))
        elif op == "remove":
            d = s.remove(self.key(args[0]))
        elif op == "add":
            d = s.add(self.key(args[0]))
        elif op == "inc":
            d = s.increment(self.key(args[0]), int(args[1]))
        elif op == "dec":
            d = s.decrement(self.key(args[0]), int(args[1]))
        elif op == "lset":
            d = s.set(self.key(args[0]), self.value(args[1]), int(args[2]))
        elif op == "lremove":
            d = s.remove(self.key(args[0]), int(args[1]))
        else:
            raise AssertionError(f"unknown operation {op!r}")
        assert isinstance(d, pv.Delta)
        self.outbox[r].append(d.to_bytes())

    def expect(self, r: str, what: str, args: List[str]) -> None:
        s = self.states[r]
        if what == "get":
            got = s.get(self.key(args[0]))
            want = [self.value(v) for v in args[1:]]
            assert sorted(got, key=repr) == sorted(want, key=repr), f"get {args[0]}: {got} != {want}"
        elif what == "lget":
            got = s.get(self.key(args[0]))
            want = None if args[1] == "-" else self.value(args[1])
            assert got == want, f"lget {args[0]}: {got!r} != {want!r}"
        elif what == "contains":
            assert args[1] in ("true", "false")
            assert (self.key(args[0]) in s) == (args[1] == "true"), f"contains {args[0]}"
        elif what == "value":
            assert s.value(self.key(args[0])) == int(args[1]), f"value {args[0]}"
        elif what == "len":
            assert len(s) == int(args[0]), f"len {len(s)} != {args[0]}"
        else:
            raise AssertionError(f"unknown expectation {what!r}")

    def run(self, n: int, toks: List[str]) -> None:
        cmd, args = toks[0], toks[1:]
        if cmd == "kind":
            self.kind, self.key_type = args[0], args[1]
            cls = KINDS[self.kind]
            if cls in (pv.MVMap, pv.LWWMap):
                self.value_type = args[2]
                self.make = lambda r: cls(r, key_type=self.key_type, value_type=self.value_type)
            else:
                assert len(args) == 2, "this kind has no value type"
                self.make = lambda r: cls(r, key_type=self.key_type)
        elif cmd == "replicas":
            for r in args:
                self.states[r] = self.make(r)
                self.outbox[r] = []
        elif cmd == "deliver":
            src, dst, i = args[0], args[1], int(args[2])
            self.states[dst].merge(self.outbox[src][i])
        elif cmd == "sync":
            src, dst = args
            ctx = pv.CausalContext.from_bytes(self.states[dst].context().to_bytes())
            self.states[dst].merge(self.states[src].delta_since(ctx).to_bytes())
        elif cmd == "merge":
            src, dst = args
            self.states[dst].merge(self.states[src].to_bytes())
        elif cmd == "expect":
            self.expect(args[0], args[1], args[2:])
        elif cmd == "expect-digest":
            assert self.states[args[0]].digest().hex() == args[1].lower(), "digest"
        elif cmd == "expect-equal":
            first = self.states[args[0]]
            for r in args[1:]:
                assert self.states[r].digest() == first.digest(), f"digest of {r} != {args[0]}"
                assert self.states[r].to_bytes() == first.to_bytes(), f"bytes of {r} != {args[0]}"
        elif cmd in self.states:
            self.write(cmd, args[0], args[1:])
        else:
            raise AssertionError(f"unknown command {cmd!r}")


CASES = load_cases()


@pytest.mark.skipif(not CASES, reason=f"no *.case files in {CASES_DIR}")
@pytest.mark.parametrize("file,lines", CASES or [pytest.param("", [], id="none")])
def test_case(file: str, lines: List[Line]) -> None:
    runner = Runner(file)
    for n, toks in lines:
        try:
            runner.run(n, toks)
        except AssertionError as e:
            raise AssertionError(f"{file}:{n}: {' '.join(toks)}: {e}") from None
