"""The fields a rule may test, the ops each takes, and the limits that keep a rule set small
enough to travel inside every order's workflow input.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from domain.status import ShippingMethod

#: Limits that keep a rule set small enough to travel inside every order's workflow input.
MAX_RULES = 200
MAX_DEPTH = 8
MAX_LIST_VALUES = 500
MAX_TAGS_PER_RULE = 20
MAX_TAG_LENGTH = 40
MAX_PRIORITY = 1000

#: The one fact a rule may compare with instead of a constant.
HOME_COUNTRY_REF = "home_country"


class TagField(StrEnum):
    SHIPPING_METHOD = "shipping_method"
    TOTAL = "total"
    CURRENCY = "currency"
    COUNTRY = "country"
    PROVINCE = "province"
    CUSTOMER_ORDERS_COUNT = "customer_orders_count"
    SKUS = "skus"
    PRODUCT_TAGS = "product_tags"
    LINE_COUNT = "line_count"
    UNITS = "units"
    CHANNEL = "channel"
    ORDER_TAGS = "order_tags"


class TagOp(StrEnum):
    EQ = "eq"
    NE = "ne"
    IN = "in"
    NOT_IN = "not_in"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    CONTAINS_ANY = "contains_any"
    CONTAINS_ALL = "contains_all"
    IS_EMPTY = "is_empty"


Kind = Literal["choice", "code", "text", "decimal", "integer", "list"]

_EQUALITY = frozenset({TagOp.EQ, TagOp.NE, TagOp.IN, TagOp.NOT_IN})
_ORDERING = frozenset({TagOp.GT, TagOp.GTE, TagOp.LT, TagOp.LTE})
_LISTS = frozenset({TagOp.CONTAINS_ANY, TagOp.CONTAINS_ALL, TagOp.IS_EMPTY})


@dataclass(frozen=True)
class FieldSpec:
    """What a field holds and the ops it takes."""

    kind: Kind
    ops: frozenset[TagOp]
    choices: tuple[str, ...] = ()
    code_length: int = 0  # "code": letters only, this many (ISO country, currency)


FIELDS: dict[TagField, FieldSpec] = {
    TagField.SHIPPING_METHOD: FieldSpec(
        "choice", _EQUALITY, choices=tuple(m.value for m in ShippingMethod)
    ),
    TagField.TOTAL: FieldSpec("decimal", frozenset({TagOp.EQ, TagOp.NE}) | _ORDERING),
    TagField.CURRENCY: FieldSpec("code", _EQUALITY, code_length=3),  # ISO 4217
    TagField.COUNTRY: FieldSpec("code", _EQUALITY | {TagOp.IS_EMPTY}, code_length=2),  # ISO 3166
    TagField.PROVINCE: FieldSpec("text", _EQUALITY | {TagOp.IS_EMPTY}),  # region code: OR, ON
    TagField.CUSTOMER_ORDERS_COUNT: FieldSpec("integer", _EQUALITY | _ORDERING),
    TagField.SKUS: FieldSpec("list", _LISTS),
    TagField.PRODUCT_TAGS: FieldSpec("list", _LISTS),  # catalog tags of the order's products
    TagField.LINE_COUNT: FieldSpec("integer", _EQUALITY | _ORDERING),
    TagField.UNITS: FieldSpec("integer", _EQUALITY | _ORDERING),
    TagField.CHANNEL: FieldSpec("text", _EQUALITY),  # e.g. shopify:demo
    TagField.ORDER_TAGS: FieldSpec("list", _LISTS),  # the order's own (Shopify's) tags
}
