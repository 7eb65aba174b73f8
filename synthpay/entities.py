"""Banks and payments: what the events are about, generated from a seeded RNG."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field, replace

from synthpay import serde
from synthpay.events import Topic

# ISO 4217 codes of currencies in circulation.
CURRENCIES = (
    "AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP "
    "BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP "
    "GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES "
    "KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU "
    "MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON "
    "RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SYP SZL THB TJS TMT TND TOP "
    "TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWG"
).split()
COUNTRIES = (
    "AR AT AU BE BR CA CH CL CN CO CZ DE DK EG ES FI FR GB GR HK HU ID IE IL IN IT JP KE KR MA "
    "MX MY NG NL NO NZ PE PH PL PT RO SA SE SG TH TR UA US VN ZA"
).split()
FIRST_NAMES = (
    "Ada Alan Alice Amara Ana Anders Aria Arjun Astrid Ben Bruno Carla Chen Chloe Dara David "
    "Diego Elena Emil Emma Farah Felix Freya Grace Hana Hugo Ines Ivan Jade Jonas Julia Kai "
    "Kenji Lara Leo Lina Luca Maya Mei Mila Nadia Nina Noah Omar Oscar Priya Rafael Rosa Sami "
    "Sara Sofia Tariq Theo Uma Vera Yara Yusuf Zoe"
).split()
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Amounts are whole cents in [0.10, 99998.99]: inside the original's [0.1, 99999).
_MIN_CENTS, _CENT_SPAN = 10, 9_999_890


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


@dataclass(frozen=True, slots=True)
class Bank:
    """A bank record; every update is a new version of it."""

    id: str
    name: str
    country: str
    email: str
    website: str
    bankCode: str
    bic: str
    branch: str
    created_ts: str
    updated_ts: str
    version: int

    def avro(self, topic: Topic, ts_ms: int) -> bytes:
        """Avro binary of this version (the record carries its own timestamps)."""
        return b"".join(
            [serde.avro_string(getattr(self, name)) for name in _BANK_STRINGS]
            + [serde.avro_long(self.version)]
        )

    def record(self, topic: Topic, ts_ms: int) -> dict[str, object]:
        """This version as a dict in schema field order."""
        return {name: getattr(self, name) for name in (*_BANK_STRINGS, "version")}


_BANK_STRINGS = (
    "id", "name", "country", "email", "website", "bankCode", "bic", "branch", "created_ts", "updated_ts"
)


@dataclass(frozen=True, slots=True)
class Payment:
    """A payment's fields that stay the same across its status events, and their encodings."""

    id: str
    source: str
    destination: str
    currency: str
    amount: float
    avro_head: bytes = field(repr=False, compare=False)  # id
    avro_tail: bytes = field(repr=False, compare=False)  # destination, source, currency, amount

    def avro(self, topic: Topic, ts_ms: int) -> bytes:
        """Avro binary of this payment's event on ``topic`` (which fixes the status) at ``ts_ms``."""
        return serde.encode_payment_event(self.avro_head, self.avro_tail, topic.status_avro, ts_ms)

    def record(self, topic: Topic, ts_ms: int) -> dict[str, object]:
        """The event as a dict in schema field order."""
        return {
            "id": self.id,
            "ts": ts_ms,
            "date_ts": serde.rfc3339_ms(ts_ms),
            "destination": self.destination,
            "source": self.source,
            "currency": self.currency,
            "amount": self.amount,
            "status": topic.status,
        }


def new_payment(rng: random.Random, sources: list[str], destinations: list[str]) -> Payment:
    """A payment between a random source and destination bank, in a random currency."""
    pid = _uuid(rng)
    source = sources[int(rng.random() * len(sources))]
    destination = destinations[int(rng.random() * len(destinations))]
    currency = CURRENCIES[int(rng.random() * len(CURRENCIES))]
    amount = (_MIN_CENTS + int(rng.random() * _CENT_SPAN)) / 100
    tail = b"".join(
        (
            serde.avro_string(destination),
            serde.avro_string(source),
            serde.avro_string(currency),
            serde.avro_double(amount),
        )
    )
    return Payment(pid, source, destination, currency, amount, serde.avro_string(pid), tail)


def new_bank(rng: random.Random, ts_ms: int) -> Bank:
    """A bank named ``<lowercase first name>-bank``, as the original names them."""
    first = rng.choice(FIRST_NAMES).lower()
    name = f"{first}-bank"
    country = rng.choice(COUNTRIES)
    code = (first.upper() + "".join(rng.choice(_UPPER) for _ in range(4)))[:4]
    location = "".join(rng.choice(_ALNUM) for _ in range(2))
    branch = "".join(rng.choice(_ALNUM) for _ in range(3))
    now = serde.rfc3339_ms(ts_ms)
    return Bank(
        id=_uuid(rng),
        name=name,
        country=country,
        email=f"contact@{name}.example",
        website=f"https://www.{name}.example",
        bankCode=code,
        bic=f"{code}{country}{location}{branch}",
        branch=branch,
        created_ts=now,
        updated_ts=now,
        version=1,
    )


def updated(bank: Bank, ts_ms: int) -> Bank:
    """The next version of ``bank``, updated at ``ts_ms``."""
    return replace(bank, version=bank.version + 1, updated_ts=serde.rfc3339_ms(ts_ms))
