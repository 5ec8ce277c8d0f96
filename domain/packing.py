"""Pack verification: is the measured parcel what the shipment should weigh?"""

from domain.models import ShipmentLine

#: Packaging adds weight the catalog does not know; allow for it.
PACKAGING_ALLOWANCE_GRAMS = 150
#: Relative and absolute tolerance: the larger wins, so small parcels are not over-strict.
RELATIVE_TOLERANCE = 0.10
ABSOLUTE_TOLERANCE_GRAMS = 50


def expected_weight(lines: list[ShipmentLine]) -> int:
    """Catalog weight of everything in the shipment, without packaging."""
    return sum(line.weight_grams * line.quantity for line in lines)


def weight_window(lines: list[ShipmentLine]) -> tuple[int, int]:
    """The inclusive range of measured weights the packer may report."""
    base = expected_weight(lines)
    slack = max(int(base * RELATIVE_TOLERANCE), ABSOLUTE_TOLERANCE_GRAMS)
    return base - slack, base + PACKAGING_ALLOWANCE_GRAMS + slack


def weight_ok(lines: list[ShipmentLine], measured_grams: int) -> bool:
    low, high = weight_window(lines)
    return low <= measured_grams <= high
