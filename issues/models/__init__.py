from issues.models.plant import (
    BilingualName,
    Line,
    Plant,
    Profile,
    Role,
    RoleAssignment,
    Shift,
    Station,
    Workshop,
)
from issues.models.problem import (
    CauseFamily,
    FailureMode,
    Kind,
    Problem,
    ProblemCounter,
    ProblemPhoto,
)
from issues.models.thresholds import Category, Grade, Operator, ThresholdRule, ThresholdTable

__all__ = [
    "BilingualName",
    "Category",
    "CauseFamily",
    "FailureMode",
    "Grade",
    "Kind",
    "Line",
    "Operator",
    "Plant",
    "Problem",
    "ProblemCounter",
    "ProblemPhoto",
    "Profile",
    "Role",
    "RoleAssignment",
    "Shift",
    "Station",
    "ThresholdRule",
    "ThresholdTable",
    "Workshop",
]
