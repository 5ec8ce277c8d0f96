"""Tag rules in Postgres (``rule_sets`` kind ``tags``) and what intake fixes on each order.

The rules are versioned like routing's (``store.rules``); the defaults are stored as
version 1 the first time the system starts, so every order names a real version.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import OrderInput
from domain.tagging import DEFAULT_TAG_RULES, TaggingContext, TagRuleSet, validate_tag_rules
from store import rules
from store.tables import Product

KIND = "tags"
SEED_ACTOR = "seed"


async def load_tag_rules(session: AsyncSession) -> tuple[int, TagRuleSet]:
    """The tag rules in force: the newest stored version, else the defaults as version 0."""
    stored = await rules.current(session, KIND)
    if stored is None:
        return 0, DEFAULT_TAG_RULES
    return stored.version, validate_tag_rules(stored.rules)


async def ensure_default_tag_rules(session: AsyncSession) -> bool:
    """Store the default rules as version 1 unless some version exists; True if it did.

    Safe to run from several processes at once: the (kind, version) key lets one insert
    win and the others find it. The caller commits.
    """
    if await rules.current(session, KIND) is not None:
        return False
    try:
        await rules.save(session, KIND, DEFAULT_TAG_RULES.to_json(), actor=SEED_ACTOR, expected=0)
    except rules.VersionConflict:
        return False  # another process seeded (or saved) meanwhile
    return True


async def product_tags(session: AsyncSession, skus: list[str]) -> dict[str, list[str]]:
    """Catalog tags of ``skus`` (SKUs not in the catalog are left out)."""
    if not skus:
        return {}
    rows = await session.execute(
        select(Product.sku, Product.tags).where(Product.sku.in_(sorted(set(skus))))
    )
    return {sku: [str(t) for t in (tags or [])] for sku, tags in rows.all()}


async def tagging_context(
    session: AsyncSession, order: OrderInput, home_country: str
) -> TaggingContext:
    """What the order's workflow needs to tag it: rules (and version), product tags, home."""
    version, rule_set = await load_tag_rules(session)
    return TaggingContext(
        rules=rule_set,
        version=version,
        product_tags=await product_tags(session, [ln.sku for ln in order.lines]),
        home_country=home_country.upper(),
    )
