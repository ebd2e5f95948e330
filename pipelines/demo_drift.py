"""A demo company variant with a known change in the middle of the year (drift detection demo).

The company of `pipelines.demo`, unchanged until the end of June 2025; from 1 July
(`CHANGE_MONTH`) two things change, through `pipelines.demo.RegimeChange`:

1. **Payables volume +40 %.** Accounts payable cases arrive 40 % more often. Payables has two
   kinds of cases: invoices without a purchase order (a root process) and invoices that
   continue a procurement case. Only the first kind is scaled, by `AP_ROOT_FACTOR`, chosen so
   that the *process* volume (both kinds) rises by 40 %: the root share is 0.30 of the root
   cases and the continued share 0.16 × 0.70, so the factor is 1 + 0.4 × 0.412 / 0.30.
   Effort (and FTE) of payables necessarily rise with it: the work per case is unchanged.
2. **New rework loop in customer service.** After "Look Up Customer" an agent now has to ask
   the customer for missing details and look the customer up again ("Request Customer
   Details" → "Look Up Customer", P(k ≥ j) = 0.25^j, at most twice). A repeated activity makes
   the case a rework case, so the rework rate jumps from about 8 % to about 30 %. The loop is
   short (2 + 2 minutes, minutes of waiting) on purpose: effort per case rises by about 5 %
   and the P90 throughput time by far less than the drift thresholds, so a correct drift
   detector flags customer service's rework rate and nothing else of that process.

The cost file is the unchanged demo's (`pipelines.demo.costs_yaml(cases)`).
"""

from pipelines.demo import DemoCompany, RegimeChange, generate
from pipelines.demo_catalogue import FLOWS, ROOTS, Act, Block, Loop

CHANGE_MONTH = 7
AP_PROCESS_GROWTH = 0.40
_PO_TO_AP = 0.70  # share of procurement cases continuing into payables (demo_catalogue)


def _share(process: str) -> float:
    return next(r.share for r in ROOTS if r.process == process)


AP_ROOT_FACTOR = 1.0 + AP_PROCESS_GROWTH * (
    _share("accounts_payable") + _share("procurement") * _PO_TO_AP
) / _share("accounts_payable")

NEW_LOOP = Loop(
    0.25,
    (
        Act("Request Customer Details", "cs_agent", "CRM", 2, 0.1),
        Act("Look Up Customer", "cs_agent", "CRM", 2, 0.1),
    ),
    cap=2,
)


def _with_new_loop(flow: tuple[Block, ...]) -> tuple[Block, ...]:
    """The customer-service flow with `NEW_LOOP` right after "Look Up Customer"."""
    out: list[Block] = []
    for block in flow:
        out.append(block)
        if isinstance(block, Act) and block.name == "Look Up Customer":
            out.append(NEW_LOOP)
    if len(out) != len(flow) + 1:
        raise RuntimeError("demo_drift: the customer-service flow has no 'Look Up Customer'")
    return tuple(out)


def drift_changes(month: int = CHANGE_MONTH) -> tuple[RegimeChange, ...]:
    """The two known changes of the drift demo, from the first day of `month` on.

    Args:
        month: First month of the changed regime (2..12).

    Returns:
        The payables volume change and the customer-service flow change.
    """
    return (
        RegimeChange("accounts_payable", month, volume_factor=AP_ROOT_FACTOR),
        RegimeChange("customer_service", month, flow=_with_new_loop(FLOWS["customer_service"])),
    )


def generate_drift(cases: int = 30_000, seed: int = 7, month: int = CHANGE_MONTH) -> DemoCompany:
    """Simulate the demo company with the known change from `month` on.

    Args:
        cases: Root cases the unchanged company would have (the log has more: payables grows).
        seed: Random seed; the same seed gives the same log.
        month: First month of the changed regime (2..12).

    Returns:
        The log, the demo cost file and the ground truth of the changed company.

    Raises:
        InputError: An argument is out of range.
    """
    return generate(cases, seed, changes=drift_changes(month))


EXPECTED_DRIFT: frozenset[tuple[str, str]] = frozenset(
    {
        ("accounts_payable", "cases"),
        ("accounts_payable", "effort_hours"),
        ("customer_service", "rework_rate"),
    }
)
"""(process, KPI) pairs a drift detector must flag in the change month, and nothing else."""
