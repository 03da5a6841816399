"""Static reference data of the synthetic world: products, names, aliases, resellers."""

from __future__ import annotations

from typing import NamedTuple


class Product(NamedTuple):
    code: str
    name: str
    tokens_per_day: int
    category: str
    popularity: float


PRODUCTS: tuple[Product, ...] = (
    Product("ACD", "AutoCAD", 7, "DESKTOP_PRODUCT", 0.26),
    Product("ACDLT", "AutoCAD LT", 3, "DESKTOP_PRODUCT", 0.05),
    Product("RVT", "Revit", 10, "DESKTOP_PRODUCT", 0.22),
    Product("CIV3D", "Civil 3D", 10, "DESKTOP_PRODUCT", 0.09),
    Product("INVPROSA", "Inventor Professional", 10, "DESKTOP_PRODUCT", 0.08),
    Product("3DSMAX", "3ds Max", 6, "DESKTOP_PRODUCT", 0.07),
    Product("MAYA", "Maya", 6, "DESKTOP_PRODUCT", 0.07),
    Product("NAVMAN", "Navisworks Manage", 10, "DESKTOP_PRODUCT", 0.05),
    Product("FSN", "Fusion", 5, "CLOUD_SERVICE", 0.11),
)

# Version labels; desktop products use the first three, cloud services the last.
VERSIONS: tuple[str, ...] = ("2024", "2025", "2026", "cloud")
DESKTOP_VERSION_WEIGHTS: tuple[float, ...] = (0.15, 0.35, 0.50)
CLOUD_VERSION = 3

FIRST_NAMES: tuple[str, ...] = (
    "María",
    "José",
    "Zoë",
    "Łukasz",
    "Søren",
    "François",
    "Ngọc",
    "Jürgen",
    "Aoife",
    "Chloé",
    "Björn",
    "Inês",
    "Mateo",
    "Sade",
    "Jia",
    "Priya",
    "Olivia",
    "Liam",
    "Noah",
    "Emma",
    "Ahmed",
    "Fatma",
    "Hiroshi",
    "Yuki",
    "Élodie",
    "Dmitri",
    "Ana",
    "Tomás",
    "Siobhán",
    "Kai",
    "Amara",
    "Raphaël",
    "Zsófia",
    "Ewa",
    "Giulia",
    "Oğuz",
    "Nikolaj",
    "Þóra",
    "Wei",
    "Grace",
)
LAST_NAMES: tuple[str, ...] = (
    "López",
    "García",
    "Nguyễn",
    "Müller",
    "O'Brien",
    "van der Berg",
    "Ólafsdóttir",
    "Dvořák",
    "Kowalczyk",
    "Søndergaard",
    "Şahin",
    "Al-Farsi",
    "Fernández",
    "Łukasiewicz",
    "Đorđević",
    "Yılmaz",
    "Björk",
    "Nakamura",
    "Chen",
    "Okoro",
    "Smith",
    "Johnson",
    "Brown",
    "Dubois",
    "Rossi",
    "Silva",
    "Kim",
    "Patel",
    "Ivanova",
    "Smith, Jr.",
    "Núñez",
    "Lefèvre",
    "Schäfer",
    "Ó Súilleabháin",
    "Kuznetsov",
    "Haddad",
    "Tanaka",
    "Wójcik",
    "Costa",
    "Andersson",
)

TEAM_PREFIXES: tuple[str, ...] = (
    "acme",
    "northwind",
    "contoso",
    "fabrikam",
    "globex",
    "initech",
    "umbrella",
    "stark",
    "wayne",
    "tyrell",
    "cyberdyne",
    "hooli",
    "vandelay",
    "wonka",
    "oscorp",
    "aperture",
    "monarch",
    "gekko",
    "soylent",
    "massive",
)
TEAM_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("design", "Design"),
    ("arch", "Architects"),
    ("studio", "Studio"),
    ("eng", "Engineering"),
    ("build", "Builders"),
    ("labs", "Labs"),
    ("civil", "Civil Works"),
    ("media", "Media"),
    ("works", "Works"),
    ("group", "Group"),
)

# Aliases that exercise quoting, path handling and spreadsheet-formula escaping downstream.
SPECIAL_ALIASES: tuple[str, ...] = (
    "Acme Design, Inc.",
    'The "Blueprint" Studio',
    "Ops/Infra ../Shared",
    '=HYPERLINK("http://example.invalid","click")',
    "Ürban Ärchitects 🏗️ Zürich",
    "North Annex\nBuilding B",
)

# (name, email); None marks a direct purchase (no reseller).
RESELLERS: tuple[tuple[str, str] | None, ...] = (
    ("Example Reseller", "sales@reseller.example"),
    ("Müller & Söhne CAD GmbH", "vertrieb@mueller-cad.example"),
    ("BIM Partners, LLC", "orders@bimpartners.example"),
    None,
)
