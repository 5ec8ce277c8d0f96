"""Order priority: higher numbers are picked first in the warehouse work list."""

from domain.models import OrderInput
from domain.status import ShippingMethod

_BY_METHOD = {ShippingMethod.STANDARD: 0, ShippingMethod.EXPRESS: 10, ShippingMethod.OVERNIGHT: 20}


def order_priority(order: OrderInput) -> int:
    return _BY_METHOD.get(order.shipping_method, 0)
