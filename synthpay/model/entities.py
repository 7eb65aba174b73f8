"""Banks and payments: what the events are about, generated from a seeded RNG."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final

from synthpay.model import serde
from synthpay.model.events import Topic

# ISO 4217 codes of currencies in circulation.
CURRENCIES = [
    "AED",
    "AFN",
    "ALL",
    "AMD",
    "AOA",
    "ARS",
    "AUD",
    "AWG",
    "AZN",
    "BAM",
    "BBD",
    "BDT",
    "BGN",
    "BHD",
    "BIF",
    "BMD",
    "BND",
    "BOB",
    "BRL",
    "BSD",
    "BTN",
    "BWP",
    "BYN",
    "BZD",
    "CAD",
    "CDF",
    "CHF",
    "CLP",
    "CNY",
    "COP",
    "CRC",
    "CUP",
    "CVE",
    "CZK",
    "DJF",
    "DKK",
    "DOP",
    "DZD",
    "EGP",
    "ERN",
    "ETB",
    "EUR",
    "FJD",
    "FKP",
    "GBP",
    "GEL",
    "GHS",
    "GIP",
    "GMD",
    "GNF",
    "GTQ",
    "GYD",
    "HKD",
    "HNL",
    "HTG",
    "HUF",
    "IDR",
    "ILS",
    "INR",
    "IQD",
    "IRR",
    "ISK",
    "JMD",
    "JOD",
    "JPY",
    "KES",
    "KGS",
    "KHR",
    "KMF",
    "KPW",
    "KRW",
    "KWD",
    "KYD",
    "KZT",
    "LAK",
    "LBP",
    "LKR",
    "LRD",
    "LSL",
    "LYD",
    "MAD",
    "MDL",
    "MGA",
    "MKD",
    "MMK",
    "MNT",
    "MOP",
    "MRU",
    "MUR",
    "MVR",
    "MWK",
    "MXN",
    "MYR",
    "MZN",
    "NAD",
    "NGN",
    "NIO",
    "NOK",
    "NPR",
    "NZD",
    "OMR",
    "PAB",
    "PEN",
    "PGK",
    "PHP",
    "PKR",
    "PLN",
    "PYG",
    "QAR",
    "RON",
    "RSD",
    "RUB",
    "RWF",
    "SAR",
    "SBD",
    "SCR",
    "SDG",
    "SEK",
    "SGD",
    "SHP",
    "SLE",
    "SOS",
    "SRD",
    "SSP",
    "STN",
    "SYP",
    "SZL",
    "THB",
    "TJS",
    "TMT",
    "TND",
    "TOP",
    "TRY",
    "TTD",
    "TWD",
    "TZS",
    "UAH",
    "UGX",
    "USD",
    "UYU",
    "UZS",
    "VES",
    "VND",
    "VUV",
    "WST",
    "XAF",
    "XCD",
    "XOF",
    "XPF",
    "YER",
    "ZAR",
    "ZMW",
    "ZWG",
]
COUNTRIES = [
    "AR",
    "AT",
    "AU",
    "BE",
    "BR",
    "CA",
    "CH",
    "CL",
    "CN",
    "CO",
    "CZ",
    "DE",
    "DK",
    "EG",
    "ES",
    "FI",
    "FR",
    "GB",
    "GR",
    "HK",
    "HU",
    "ID",
    "IE",
    "IL",
    "IN",
    "IT",
    "JP",
    "KE",
    "KR",
    "MA",
    "MX",
    "MY",
    "NG",
    "NL",
    "NO",
    "NZ",
    "PE",
    "PH",
    "PL",
    "PT",
    "RO",
    "SA",
    "SE",
    "SG",
    "TH",
    "TR",
    "UA",
    "US",
    "VN",
    "ZA",
]
FIRST_NAMES = [
    "Ada",
    "Alan",
    "Alice",
    "Amara",
    "Ana",
    "Anders",
    "Aria",
    "Arjun",
    "Astrid",
    "Ben",
    "Bruno",
    "Carla",
    "Chen",
    "Chloe",
    "Dara",
    "David",
    "Diego",
    "Elena",
    "Emil",
    "Emma",
    "Farah",
    "Felix",
    "Freya",
    "Grace",
    "Hana",
    "Hugo",
    "Ines",
    "Ivan",
    "Jade",
    "Jonas",
    "Julia",
    "Kai",
    "Kenji",
    "Lara",
    "Leo",
    "Lina",
    "Luca",
    "Maya",
    "Mei",
    "Mila",
    "Nadia",
    "Nina",
    "Noah",
    "Omar",
    "Oscar",
    "Priya",
    "Rafael",
    "Rosa",
    "Sami",
    "Sara",
    "Sofia",
    "Tariq",
    "Theo",
    "Uma",
    "Vera",
    "Yara",
    "Yusuf",
    "Zoe",
]
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Amounts are whole cents in [0.10, 99998.99]: inside the original's [0.1, 99999).
_MIN_CENTS, _CENT_SPAN = 10, 9_999_890
#: The least and the greatest amount the original draws (uniform between them).
UNIFORM_AMOUNTS: Final = (_MIN_CENTS / 100, (_MIN_CENTS + _CENT_SPAN - 1) / 100)


# Clear the version nibble and variant bits, then set version 4 and the RFC 4122 variant.
_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID_SET = (0x4000 << 64) | (0x8000 << 48)


def new_uuid(rng: random.Random, tag: int | None = None) -> str:
    """A version-4 UUID from ``rng`` (what ``uuid.UUID(int=..., version=4)`` gives, without building a UUID object).

    With a ``tag`` (an instance index below 65536) the last four hex digits are the tag, so
    instances sharing a run can never generate the same id.
    """
    n = (rng.getrandbits(128) & _UUID_CLEAR) | _UUID_SET
    if tag is not None:
        n = (n & ~0xFFFF) | tag
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class Entity:
    """What an event is about: a bank or a payment.

    ``anomaly`` is a class attribute, not a slot: a clean entity reads it from the class, and
    only the injected copy (:class:`synthpay.model.anomalies.Injected`) has a slot that
    overrides it, so the label costs a clean payment no memory and no work when it is made.
    """

    __slots__ = ()

    anomaly: str = ""  # the anomaly label of its events (Event.anomaly), "" when clean


@dataclass(frozen=True, slots=True)
class Bank(Entity):
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

    @property
    def kafka_key(self) -> bytes:
        """The id as the Kafka record key."""
        return self.id.encode()

    def avro(self, topic: Topic, ts_ms: int) -> bytes:
        """Avro binary of this version (the record carries its own timestamps)."""
        return b"".join(
            [serde.avro_string(getattr(self, name)) for name in _BANK_STRINGS] + [serde.avro_long(self.version)]
        )

    def record(self, topic: Topic, ts_ms: int) -> dict[str, object]:
        """This version as a dict in schema field order."""
        return {name: getattr(self, name) for name in (*_BANK_STRINGS, "version")}


_BANK_STRINGS = ("id", "name", "country", "email", "website", "bankCode", "bic", "branch", "created_ts", "updated_ts")


class Payment(Entity):
    """A payment's fields that stay the same across its status events, kept encoded.

    Only bytes ready for the wire are stored, the id and the Avro encoding of the rest:
    every payment in flight costs memory, and the plain values (properties below) are
    needed only off the hot path. Not a frozen dataclass, which takes four times as long
    to build, and not a tuple: the scheduler's payment in flight is a subclass that adds
    where it is in its workflow, one object per payment instead of two (48 bytes less).
    Never changed once made.
    """

    __slots__ = ("avro_tail", "kafka_key")

    def __init__(self, kafka_key: bytes, avro_tail: bytes) -> None:
        self.kafka_key = kafka_key  # the id (a UUID, 36 ASCII bytes), which is also the Kafka record key
        self.avro_tail = avro_tail  # destination, source, currency, amount

    def __repr__(self) -> str:
        return f"Payment(id={self.id!r})"

    @property
    def id(self) -> str:
        """The payment id (a UUID)."""
        return self.kafka_key.decode()

    @property
    def destination(self) -> str:
        """Destination bank id."""
        return self._invariants()[0]

    @property
    def source(self) -> str:
        """Source bank id."""
        return self._invariants()[1]

    @property
    def currency(self) -> str:
        """ISO 4217 currency code."""
        return self._invariants()[2]

    @property
    def amount(self) -> float:
        """Amount in the currency, whole cents."""
        return self._invariants()[3]

    def _invariants(self) -> tuple[str, str, str, float]:
        destination, pos = serde.read_string(self.avro_tail, 0)
        source, pos = serde.read_string(self.avro_tail, pos)
        currency, pos = serde.read_string(self.avro_tail, pos)
        return destination, source, currency, serde.read_double(self.avro_tail, pos)

    def avro(self, topic: Topic, ts_ms: int) -> bytes:
        """Avro binary of this payment's event on ``topic`` (which fixes the status) at ``ts_ms``."""
        return serde.encode_payment_event(ID_HEAD, self.kafka_key, self.avro_tail, topic.status_avro, ts_ms)

    def record(self, topic: Topic, ts_ms: int) -> dict[str, object]:
        """The event as a dict in schema field order."""
        destination, source, currency, amount = self._invariants()
        return {
            "id": self.id,
            "ts": ts_ms,
            "date_ts": serde.rfc3339_ms(ts_ms),
            "destination": destination,
            "source": source,
            "currency": currency,
            "amount": amount,
            "status": topic.status,
        }


#: A string together with its Avro encoding, for values that many payments share.
Encoded = tuple[str, bytes]
_CURRENCIES_AVRO: tuple[Encoded, ...] = tuple((c, serde.avro_string(c)) for c in CURRENCIES)
#: The Avro length of every payment id (a UUID is 36 ASCII characters).
ID_HEAD: Final = serde.avro_long(36)


def encoded(text: str) -> Encoded:
    """``text`` with its Avro encoding."""
    return text, serde.avro_string(text)


def new_payment_fields(
    rng: random.Random, sources: Sequence[Encoded], destinations: Sequence[Encoded], tag: int | None = None
) -> tuple[bytes, bytes]:
    """A payment between a random source and destination bank, in a random currency.

    Returned as the :class:`Payment` fields ``kafka_key`` and ``avro_tail``: the scheduler's
    flight is a Payment subclass that sets them itself.
    """
    rand = rng.random
    pid = new_uuid(rng, tag)
    source_avro = sources[int(rand() * len(sources))][1]
    destination_avro = destinations[int(rand() * len(destinations))][1]
    currency_avro = _CURRENCIES_AVRO[int(rand() * len(_CURRENCIES_AVRO))][1]
    amount = (_MIN_CENTS + int(rand() * _CENT_SPAN)) / 100
    tail = b"".join((destination_avro, source_avro, currency_avro, serde.avro_double(amount)))
    return pid.encode(), tail


# The two draws above, one call each: for payments made by synthpay.model.amounts, where one
# of the two is configured. new_payment_fields keeps them inline (two calls less per payment).
def uniform_currency(rng: random.Random) -> bytes:
    """The Avro encoding of a currency drawn uniformly from CURRENCIES, as new_payment_fields draws one."""
    return _CURRENCIES_AVRO[int(rng.random() * len(_CURRENCIES_AVRO))][1]


def uniform_amount(rng: random.Random) -> float:
    """An amount in whole cents uniform in [0.10, 99998.99], as new_payment_fields draws one."""
    return (_MIN_CENTS + int(rng.random() * _CENT_SPAN)) / 100


#: Entries of a popularity table at most: a bank less likely than one in this many is never picked.
POPULARITY_ENTRIES: Final = 1 << 20


def zipf_table(banks: Sequence[Encoded], s: float) -> list[Encoded]:
    """``banks`` repeated in proportion to zipf's law, the k-th taking 1/k^s of the weight.

    The scheduler picks from it as from the plain list (one ``random()`` per bank, so a run
    draws the same numbers either way). Each bank's share is quantized to 1/len(table) by
    the largest remainder.
    """
    weights = [k**-s for k in range(1, len(banks) + 1)]
    total = sum(weights)
    size = min(POPULARITY_ENTRIES, max(1 << 16, 64 * len(banks)))
    exact = [w / total * size for w in weights]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(banks)), key=lambda k: exact[k] - counts[k], reverse=True)
    for k in by_remainder[: size - sum(counts)]:
        counts[k] += 1
    return [bank for bank, count in zip(banks, counts) for _ in range(count)]


def zipf_share(rank: int, count: int, s: float) -> float:
    """The share of picks zipf's law gives the bank of ``rank`` (1 = the most popular) of ``count``."""
    return float(rank**-s / sum(k**-s for k in range(1, count + 1)))


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
        id=new_uuid(rng),
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
