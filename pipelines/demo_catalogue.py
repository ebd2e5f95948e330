"""The demo company's processes, roles and people: what `pipelines.demo` simulates.

A flow is a tuple of blocks. `Act` is one activity instance; `Opt` includes its blocks with a
probability; `Choice` takes exactly one of its weighted branches; `Loop` repeats its activities
k times with P(k ≥ j) = p^j (a rework loop, at most `cap` times); `Sub` embeds another process's
flow (same case, next process: the cross-process handover). Human activities have a role, a
median handling time in minutes (lognormal) and a median waiting time before them in business
hours (lognormal); automated ones run as `SYSTEM` (seconds after the previous step) or `BATCH`
(the nightly run at 22:00 local time on a weekday) and carry no start timestamp.

The second half holds the data of the demo cost file (`pipelines.demo.cost_file`): systems,
providers, offers, throughput targets and data classes.
"""

from dataclasses import dataclass
from typing import Any

SYSTEM = "SYSTEM"
BATCH = "BATCH"


@dataclass(frozen=True)
class Act:
    """One activity of a flow.

    Attributes:
        name: Business name of the activity.
        role: Role id of the people doing it, or `SYSTEM` / `BATCH` for automated steps.
        system: IT system the activity is recorded in.
        minutes: Median handling time in minutes (human activities only).
        wait_hours: Median waiting time before the activity, in business hours.
        sigma: Log-standard deviation of the handling time.
    """

    name: str
    role: str
    system: str
    minutes: float = 0.0
    wait_hours: float = 0.0
    sigma: float = 0.5


@dataclass(frozen=True)
class Opt:
    """Blocks included with probability `p`."""

    p: float
    blocks: tuple["Block", ...]


@dataclass(frozen=True)
class Choice:
    """Exactly one branch, chosen with the given weights (they sum to 1)."""

    branches: tuple[tuple[float, tuple["Block", ...]], ...]


@dataclass(frozen=True)
class Loop:
    """Rework: `acts` repeated k times, P(k ≥ j) = p^j, k ≤ cap."""

    p: float
    acts: tuple[Act, ...]
    cap: int = 3


@dataclass(frozen=True)
class Sub:
    """Another process's flow, in the same case (the case continues in that process)."""

    process: str
    flow: str


Block = Act | Opt | Choice | Loop | Sub


@dataclass(frozen=True)
class Role:
    """A role, its hourly cost in the demo cost file and its people."""

    id: str
    cost_per_hour: float
    resources: tuple[str, ...]


@dataclass(frozen=True)
class RootProcess:
    """A process whose cases start on their own: share of root cases and case-id prefix."""

    process: str
    flow: str
    share: float
    prefix: str


_NAMES: tuple[str, ...] = (
    "Anna",
    "Ben",
    "Clara",
    "David",
    "Emma",
    "Felix",
    "Greta",
    "Hannah",
    "Jonas",
    "Katrin",
    "Lukas",
    "Marta",
    "Nina",
    "Oskar",
    "Paula",
    "Quentin",
    "Rosa",
    "Stefan",
    "Tanja",
    "Uwe",
    "Vera",
    "Wojciech",
    "Xenia",
    "Yusuf",
    "Zofia",
    "Agnieszka",
    "Bartosz",
    "Carla",
    "Dominik",
    "Elif",
    "Florian",
    "Gosia",
    "Henrik",
    "Ines",
    "Jakub",
    "Karolina",
    "Leon",
    "Magda",
    "Niklas",
    "Olga",
    "Piotr",
    "Ronja",
    "Sven",
    "Teresa",
    "Ulla",
    "Viktor",
    "Weronika",
    "Amir",
    "Birgit",
    "Cem",
    "Dorota",
    "Erik",
    "Franziska",
    "Gabriel",
    "Heike",
    "Igor",
    "Julia",
    "Kamil",
    "Lena",
    "Mateusz",
    "Nora",
    "Ole",
    "Patrycja",
    "Ralf",
    "Sabine",
    "Tomasz",
    "Ursula",
    "Valentin",
    "Wiebke",
    "Aylin",
    "Bernd",
    "Celine",
    "Dariusz",
    "Eva",
    "Frank",
    "Gül",
    "Hugo",
    "Iris",
    "Janek",
    "Kerstin",
)


def _people(start: int, count: int) -> tuple[str, ...]:
    return tuple(_NAMES[start : start + count])


ROLES: tuple[Role, ...] = (
    Role("ap_clerk", 52.0, _people(0, 8)),
    Role("manager", 88.0, _people(8, 10)),
    Role("buyer", 58.0, _people(18, 5)),
    Role("warehouse_clerk", 41.0, _people(23, 4)),
    Role("ar_clerk", 50.0, _people(27, 5)),
    Role("payroll_specialist", 61.0, _people(32, 3)),
    Role("hr_recruiter", 63.0, _people(35, 4)),
    Role("travel_clerk", 47.0, _people(39, 3)),
    Role("cs_agent", 44.0, _people(42, 6)),
    Role("it_agent", 42.5, _people(48, 7)),
    Role("it_specialist", 62.0, _people(55, 4)),
    Role("claims_handler", 59.0, _people(59, 6)),
    Role("claims_expert", 84.0, _people(65, 4)),
)

_AP_TAIL: tuple[Block, ...] = (
    Act("Post Invoice", "ap_clerk", "ERP", 5, 4),
    Act("Pay Invoice", BATCH, "ERP", wait_hours=27),
)

FLOWS: dict[str, tuple[Block, ...]] = {
    # Invoices without a purchase order: scanned, checked, approved by a budget owner, paid.
    "accounts_payable": (
        Act("Receive Invoice", "ap_clerk", "OCR", 3),
        Act("Scan Invoice", BATCH, "OCR"),
        Choice(
            (
                (0.85, ()),
                (0.15, (Act("Enter Invoice Manually", "ap_clerk", "ERP", 14, 3),)),
            )
        ),
        Act("Check Invoice", "ap_clerk", "ERP", 12, 4),
        Loop(
            0.18,
            (
                Act("Correct Invoice", "ap_clerk", "ERP", 18, 8),
                Act("Check Invoice", "ap_clerk", "ERP", 9, 2),
            ),
        ),
        Opt(0.10, (Act("Clarify Invoice with Supplier", "ap_clerk", "ERP", 25, 6),)),
        Act("Approve Invoice", "manager", "ERP", 5, 14),
        *_AP_TAIL,
    ),
    # Invoices against a purchase order (the procurement case continues): three-way match.
    "accounts_payable_po": (
        Act("Receive Invoice", "ap_clerk", "OCR", 3, 30),
        Act("Scan Invoice", BATCH, "OCR"),
        Act("Match Invoice to Purchase Order", SYSTEM, "ERP"),
        Opt(0.22, (Act("Resolve Price Difference", "ap_clerk", "ERP", 22, 5),)),
        *_AP_TAIL,
    ),
    "procurement": (
        Act("Create Purchase Requisition", "buyer", "ERP", 10),
        Opt(0.35, (Act("Request Quotes", "buyer", "ERP", 40, 6),)),
        Act("Approve Purchase Requisition", "manager", "ERP", 5, 10),
        Loop(
            0.10,
            (
                Act("Rework Purchase Requisition", "buyer", "ERP", 15, 6),
                Act("Approve Purchase Requisition", "manager", "ERP", 4, 6),
            ),
        ),
        Act("Create Purchase Order", "buyer", "ERP", 14, 4),
        Act("Send Purchase Order", SYSTEM, "ERP"),
        Act("Receive Goods", "warehouse_clerk", "ERP", 10, 40),
        Opt(0.70, (Sub("accounts_payable", "accounts_payable_po"),)),
    ),
    "accounts_receivable": (
        Act("Create Customer Invoice", BATCH, "ERP"),
        Act("Send Customer Invoice", SYSTEM, "ERP"),
        Opt(0.30, (Act("Check Customer Credit", "ar_clerk", "ERP", 8, 2),)),
        Loop(0.22, (Act("Send Payment Reminder", "ar_clerk", "ERP", 7, 60),), cap=3),
        Act("Receive Payment", BATCH, "ERP", wait_hours=60),
        Choice(
            (
                (0.72, (Act("Match Payment", SYSTEM, "ERP"),)),
                (0.28, (Act("Clear Payment Manually", "ar_clerk", "ERP", 14, 5),)),
            )
        ),
    ),
    "payroll": (
        Act("Collect Time Data", BATCH, "HR"),
        Act("Check Payroll Changes", "payroll_specialist", "HR", 25, 4),
        Loop(
            0.15,
            (
                Act("Correct Payroll Data", "payroll_specialist", "HR", 20, 4),
                Act("Check Payroll Changes", "payroll_specialist", "HR", 12, 2),
            ),
        ),
        Act("Calculate Payroll", BATCH, "HR"),
        Act("Review Payroll", "payroll_specialist", "HR", 30, 3),
        Act("Approve Payroll", "manager", "HR", 8, 6),
        Act("Transfer Salaries", BATCH, "HR", wait_hours=9),
        Act("Send Payslips", SYSTEM, "HR"),
    ),
    "travel_expenses": (
        Act("Submit Expense Report", SYSTEM, "HR"),
        Act("Check Receipts", "travel_clerk", "HR", 12, 10),
        Loop(
            0.20,
            (
                Act("Request Missing Receipts", "travel_clerk", "HR", 5, 2),
                Act("Check Receipts", "travel_clerk", "HR", 8, 24),
            ),
        ),
        Opt(0.10, (Act("Review Policy Exception", "travel_clerk", "HR", 15, 4),)),
        Act("Approve Expense Report", "manager", "HR", 4, 12),
        Act("Reimburse Expenses", BATCH, "HR", wait_hours=9),
    ),
    "recruiting": (
        Act("Open Requisition", "hr_recruiter", "HR", 30),
        Act("Approve Requisition", "manager", "HR", 10, 16),
        Act("Publish Job Ad", "hr_recruiter", "HR", 40, 8),
        Act("Screen Applications", "hr_recruiter", "HR", 180, 90, 0.4),
        Loop(
            0.25,
            (
                Act("Republish Job Ad", "hr_recruiter", "HR", 30, 8),
                Act("Screen Applications", "hr_recruiter", "HR", 150, 72, 0.4),
            ),
            cap=2,
        ),
        Act("Interview Candidates", "hr_recruiter", "HR", 240, 40, 0.3),
        Choice(
            (
                (
                    0.85,
                    (
                        Opt(0.5, (Act("Assess Candidate", "hr_recruiter", "HR", 90, 16),)),
                        Act("Make Offer", "hr_recruiter", "HR", 45, 16),
                        Act("Sign Contract", "hr_recruiter", "HR", 30, 40),
                    ),
                ),
                (0.15, (Act("Close Requisition Unfilled", "hr_recruiter", "HR", 15, 40),)),
            )
        ),
    ),
    "customer_service": (
        Act("Receive Ticket", SYSTEM, "TICKETING"),
        Act("Classify Ticket", "cs_agent", "TICKETING", 4, 2),
        Act("Look Up Customer", "cs_agent", "CRM", 3, 0.2),
        Choice(
            (
                (0.78, (Act("Resolve Request", "cs_agent", "CRM", 12, 3),)),
                (
                    0.22,
                    (
                        Act("Escalate to IT", "cs_agent", "TICKETING", 5, 1),
                        Sub("it_service_desk", "it_service_desk"),
                        Act("Inform Customer", "cs_agent", "CRM", 6, 2),
                    ),
                ),
            )
        ),
        Loop(
            0.10,
            (
                Act("Reopen Ticket", "cs_agent", "TICKETING", 5, 16),
                Act("Resolve Request", "cs_agent", "CRM", 10, 3),
            ),
            cap=2,
        ),
        Act("Close Ticket", SYSTEM, "TICKETING"),
    ),
    "it_service_desk": (
        Act("Log Incident", "it_agent", "TICKETING", 5, 0.5),
        Act("Categorize Incident", SYSTEM, "TICKETING"),
        Act("Diagnose Incident", "it_agent", "TICKETING", 20, 2),
        Choice(
            (
                (0.70, (Act("Resolve Incident", "it_agent", "TICKETING", 25, 1),)),
                (
                    0.30,
                    (
                        Act("Escalate to Second Level", "it_agent", "TICKETING", 5, 0.5),
                        Act(
                            "Resolve Incident on Second Level", "it_specialist", "TICKETING", 60, 8
                        ),
                    ),
                ),
            )
        ),
        Loop(
            0.12,
            (
                Act("Reopen Incident", "it_agent", "TICKETING", 5, 12),
                Act("Resolve Incident", "it_agent", "TICKETING", 20, 2),
            ),
            cap=2,
        ),
        Act("Confirm Resolution", "it_agent", "TICKETING", 3, 8),
        Act("Close Incident", SYSTEM, "TICKETING"),
    ),
    "claims_handling": (
        Act("Register Claim", "claims_handler", "CLAIMS", 15),
        Act("Check Coverage", "claims_handler", "CLAIMS", 20, 4),
        Opt(
            0.35,
            (
                Act("Request Documents", "claims_handler", "CLAIMS", 10, 2),
                Act("Receive Documents", SYSTEM, "CLAIMS", wait_hours=45),
            ),
        ),
        Choice(
            (
                (0.60, (Act("Assess Claim", "claims_handler", "CLAIMS", 45, 8),)),
                (
                    0.40,
                    (
                        Act("Assess Complex Claim", "claims_expert", "CLAIMS", 120, 16, 0.4),
                        Opt(
                            0.30, (Act("Appoint Loss Adjuster", "claims_expert", "CLAIMS", 30, 4),)
                        ),
                    ),
                ),
            )
        ),
        Loop(
            0.10,
            (
                Act("Review Assessment", "claims_expert", "CLAIMS", 30, 8),
                Act("Assess Claim", "claims_handler", "CLAIMS", 30, 4),
            ),
            cap=2,
        ),
        Choice(
            (
                (
                    0.80,
                    (
                        Act("Approve Claim", "claims_expert", "CLAIMS", 10, 8),
                        Act("Pay Claim", BATCH, "CLAIMS", wait_hours=9),
                    ),
                ),
                (
                    0.20,
                    (
                        Act("Reject Claim", "claims_expert", "CLAIMS", 20, 8),
                        Act("Send Rejection Letter", SYSTEM, "CLAIMS"),
                    ),
                ),
            )
        ),
        Act("Close Claim", SYSTEM, "CLAIMS"),
    ),
}

# Root cases by process: share of the requested number of cases and the case-id prefix.
# Procurement cases continue into accounts payable and customer-service tickets into the IT
# service desk, so payables (root + continued) is the largest process.
ROOTS: tuple[RootProcess, ...] = (
    RootProcess("accounts_payable", "accounts_payable", 0.30, "INV"),
    RootProcess("procurement", "procurement", 0.16, "PO"),
    RootProcess("customer_service", "customer_service", 0.14, "CS"),
    RootProcess("accounts_receivable", "accounts_receivable", 0.13, "AR"),
    RootProcess("it_service_desk", "it_service_desk", 0.10, "IT"),
    RootProcess("travel_expenses", "travel_expenses", 0.07, "TR"),
    RootProcess("claims_handling", "claims_handling", 0.06, "CL"),
    RootProcess("payroll", "payroll", 0.03, "PAY"),
    RootProcess("recruiting", "recruiting", 0.01, "REQ"),
)

PROCESSES: tuple[str, ...] = tuple(sorted(r.process for r in ROOTS))
CORE_PROCESS = "claims_handling"


# --------------------------------------------------------------------------- cost file data
# Used by `pipelines.demo.cost_file`; money in EUR for the default 30,000 root cases.
#
# The numbers are chosen so that the optimum is not trivial (checked with the project's miner
# and CP-SAT model in tests/pipelines/test_demo.py): payables, customer service and the IT
# service desk go to offshore_in, payroll, travel expenses and recruiting to
# shared_services_de; procurement, receivables and the core claims handling stay. TICKETING
# (all_or_nothing) couples customer service with the IT service desk, whose offshore price is
# above its in-house cost; the pair moves only because offshore_in's 5 % rebate tier is then
# reached. HR moves with its three users to the German provider; OCR is retired because the
# offshore provider brings its own platform; payroll and recruiting data may not go to India.

SYSTEMS: tuple[dict[str, Any], ...] = (
    {"id": "ERP", "run_cost_per_year": 420_000, "policy": "not_movable", "retirable": False},
    {"id": "CLAIMS", "run_cost_per_year": 150_000, "policy": "not_movable", "retirable": False},
    {"id": "HR", "run_cost_per_year": 110_000, "policy": "all_or_nothing", "retirable": False},
    {
        "id": "TICKETING",
        "run_cost_per_year": 48_000,
        "policy": "all_or_nothing",
        "retirable": True,
        "decommission_cost": 6_000,
    },
    {
        "id": "CRM",
        "run_cost_per_year": 30_000,
        "policy": "all_or_nothing",
        "retirable": True,
        "decommission_cost": 5_000,
    },
    {
        "id": "OCR",
        "run_cost_per_year": 36_000,
        "policy": "all_or_nothing",
        "retirable": True,
        "decommission_cost": 8_000,
    },
)

PROVIDERS: tuple[dict[str, Any], ...] = (
    {
        "id": "nearshore_pl",
        "location": "PL",
        "certifications": ["ISO27001", "SOC2"],
        "setup_cost": 25_000,
        "management_cost_per_year": 30_000,
        "capacity": {"cases_per_year": 26_000},
        "min_annual_value": 150_000,
        "rebate_tiers": [{"min_spend": 0, "rebate": 0.0}, {"min_spend": 400_000, "rebate": 0.06}],
        "risk_per_year": 15_000,
        "system_takeover": {
            "TICKETING": {"annual_fee": 20_000, "migration_cost": 15_000},
            "HR": {"annual_fee": 45_000, "migration_cost": 40_000},
        },
    },
    {
        "id": "offshore_in",
        "location": "IN",
        "certifications": ["ISO27001"],
        "setup_cost": 40_000,
        "management_cost_per_year": 40_000,
        "capacity": {"cases_per_year": 60_000},
        "min_annual_value": 200_000,
        "rebate_tiers": [{"min_spend": 0, "rebate": 0.0}, {"min_spend": 350_000, "rebate": 0.05}],
        "risk_per_year": 30_000,
        "system_takeover": {
            "TICKETING": {"annual_fee": 12_000, "migration_cost": 15_000},
            "OCR": {"annual_fee": 8_000, "migration_cost": 10_000},
        },
    },
    {
        "id": "shared_services_de",
        "location": "DE",
        "certifications": ["ISO27001", "SOC2"],
        "setup_cost": 15_000,
        "management_cost_per_year": 20_000,
        "capacity": {"cases_per_year": 8_000},
        "min_annual_value": 100_000,
        "rebate_tiers": [{"min_spend": 0, "rebate": 0.0}],
        "risk_per_year": 5_000,
        "system_takeover": {"HR": {"annual_fee": 40_000, "migration_cost": 30_000}},
    },
)

# (process, provider, price per case, fixed per year, transition cost, SLA hours, it, risk)
OFFERS: tuple[tuple[str, str, float, int, int, float, dict[str, str], int], ...] = (
    (
        "accounts_payable",
        "offshore_in",
        20.00,
        15_000,
        70_000,
        400,
        {"ERP": "access", "OCR": "own_platform"},
        12_000,
    ),
    (
        "accounts_payable",
        "nearshore_pl",
        25.50,
        12_000,
        60_000,
        400,
        {"ERP": "access", "OCR": "access"},
        8_000,
    ),
    ("accounts_receivable", "nearshore_pl", 6.90, 3_000, 8_000, 500, {"ERP": "access"}, 2_000),
    ("accounts_receivable", "offshore_in", 6.90, 6_000, 12_000, 500, {"ERP": "access"}, 4_000),
    ("procurement", "nearshore_pl", 57.50, 10_000, 45_000, 500, {"ERP": "access"}, 8_000),
    ("procurement", "shared_services_de", 56.00, 8_000, 30_000, 600, {"ERP": "access"}, 4_000),
    (
        "customer_service",
        "offshore_in",
        11.50,
        8_000,
        20_000,
        120,
        {"TICKETING": "takeover", "CRM": "access"},
        6_000,
    ),
    (
        "customer_service",
        "nearshore_pl",
        13.50,
        5_000,
        15_000,
        120,
        {"TICKETING": "takeover", "CRM": "access"},
        4_000,
    ),
    (
        "it_service_desk",
        "offshore_in",
        64.00,
        10_000,
        30_000,
        160,
        {"TICKETING": "takeover"},
        10_000,
    ),
    (
        "it_service_desk",
        "nearshore_pl",
        49.50,
        10_000,
        25_000,
        160,
        {"TICKETING": "takeover"},
        6_000,
    ),
    ("payroll", "shared_services_de", 64.00, 6_000, 15_000, 200, {"HR": "takeover"}, 3_000),
    ("payroll", "nearshore_pl", 68.00, 8_000, 20_000, 200, {"HR": "access"}, 5_000),
    ("travel_expenses", "offshore_in", 13.00, 4_000, 10_000, 300, {"HR": "access"}, 3_000),
    ("travel_expenses", "shared_services_de", 16.00, 3_000, 6_000, 300, {"HR": "takeover"}, 1_000),
    ("recruiting", "shared_services_de", 590.00, 10_000, 25_000, 1_600, {"HR": "takeover"}, 4_000),
    ("recruiting", "nearshore_pl", 640.00, 12_000, 30_000, 1_600, {"HR": "access"}, 6_000),
    ("claims_handling", "offshore_in", 95.00, 20_000, 80_000, 300, {"CLAIMS": "access"}, 20_000),
)

# Throughput targets (hours a case spends in the process): a little above the observed P90, so
# that every offer but one qualifies (procurement at the German provider promises 600 h and is
# ineligible).
THROUGHPUT_TARGETS = {
    "accounts_payable": 480,
    "accounts_receivable": 700,
    "claims_handling": 340,
    "customer_service": 150,
    "it_service_desk": 170,
    "payroll": 260,
    "procurement": 550,
    "recruiting": 1_700,
    "travel_expenses": 380,
}

DATA_CLASSES = {
    "payroll": "personal_sensitive",
    "recruiting": "personal_sensitive",
    "travel_expenses": "personal",
}
