"""Fake Colombian company names and NITs (tax ids) for the demo clients: PII-shaped, not real."""

from __future__ import annotations

import numpy as np

_KINDS = (
    "Distribuciones",
    "Comercializadora",
    "Inversiones",
    "Ferretería",
    "Suministros",
    "Importadora",
    "Agroindustrias",
    "Transportes",
    "Construcciones",
    "Alimentos",
    "Textiles",
    "Droguería",
    "Servicios Integrales",
    "Tecnología",
    "Panificadora",
)
_NAMES = (
    "Gómez",
    "Rodríguez",
    "Martínez",
    "López",
    "García",
    "Hernández",
    "Muñoz",
    "Rojas",
    "Díaz",
    "Moreno",
    "Vargas",
    "Castro",
    "Ospina",
    "Restrepo",
    "Zapata",
    "Arango",
    "del Valle",
    "Andina",
    "del Caribe",
    "La Montaña",
    "El Progreso",
    "San José",
    "Santa Fe",
    "Los Andes",
    "Pacífico",
)
_SUFFIXES = ("S.A.S.", "S.A.S.", "S.A.S.", "Ltda.", "S.A.", "& Cía. S.C.S.", "E.U.")
_NIT_WEIGHTS = np.array([41, 37, 29, 23, 19, 17, 13, 7, 3])  # DIAN check-digit weights, 9-digit NIT


def company_names(n: int, rng: np.random.Generator) -> list[str]:
    """Names like "Distribuciones Gómez S.A.S."; some carry a comma ("Rojas, Díaz & Cía. S.C.S.")."""
    kind = rng.integers(0, len(_KINDS), n)
    first = rng.integers(0, len(_NAMES), n)
    second = rng.integers(0, len(_NAMES), n)
    suffix = rng.integers(0, len(_SUFFIXES), n)
    style = rng.random(n)
    out = []
    for i in range(n):
        a, b, s = _NAMES[first[i]], _NAMES[second[i]], _SUFFIXES[suffix[i]]
        if style[i] < 0.08:
            out.append(f"{a}, {b} {s}")
        elif style[i] < 0.30:
            out.append(f"{_KINDS[kind[i]]} {a} y {b} {s}")
        else:
            out.append(f"{_KINDS[kind[i]]} {a} {s}")
    return out


def tax_ids(n: int, rng: np.random.Generator) -> list[str]:
    """Distinct company NITs (800000000-999999999) with their DIAN check digit: "900123456-7"."""
    pool = rng.integers(800_000_000, 1_000_000_000, int(n * 1.2) + 16)
    _, first = np.unique(pool, return_index=True)
    numbers = pool[np.sort(first)][:n]
    digits = (numbers[:, None] // 10 ** np.arange(8, -1, -1)[None, :]) % 10
    rest = (digits * _NIT_WEIGHTS).sum(axis=1) % 11
    check = np.where(rest > 1, 11 - rest, rest)
    return [f"{a}-{b}" for a, b in zip(numbers.tolist(), check.tolist(), strict=True)]
