"""REST API for line systems and MES (issue #2): dry-run grading and problem intake."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, parsers, permissions, serializers, status, viewsets
from rest_framework.decorators import api_view, parser_classes, permission_classes
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from issues.common.ids import parse_id, whole_number
from issues.common.scope import visible_lines, visible_plants, visible_problems
from issues.grading import rules as grading
from issues.grading.facts import clean_facts
from issues.grading.thresholds import as_grading_table, current_table
from issues.models import Category, CauseFamily, Grade, Kind, Line, Problem, Shift, Source, Station
from issues.problems.filters import ProblemFilter
from issues.problems.intake import IdempotencyConflict, Report, failure_mode_named, report_problem, validate_occurred_at

IDEMPOTENCY_HEADER = "Idempotency-Key"
# Answered by issues.common.request_size before the view runs.
TOO_LARGE = OpenApiResponse(description="Request body above QRQC_API_MAX_REQUEST_BYTES (64 KB by default)")


def exception_handler(exc, context):
    """DRF's handler; Django's ValidationError also becomes a 400 with its messages."""

    if isinstance(exc, DjangoValidationError):
        exc = ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages})
    return drf_exception_handler(exc, context)


class JSONParser(parsers.JSONParser):
    """JSON nested thousands deep is a parse error (400); DRF let the RecursionError through (a 500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(_("JSON nested too deeply.")) from None


PARSERS = [JSONParser, parsers.FormParser, parsers.MultiPartParser]


class ModelPermissions(permissions.DjangoObjectPermissions):
    """Reading needs the view permission too (DRF's default lets any user GET), and over the
    object's own line, workshop or plant (a role's rights hold only within its scope)."""

    perms_map = {**permissions.DjangoObjectPermissions.perms_map, "GET": ["%(app_label)s.view_%(model_name)s"]}


class FiredRuleSerializer(serializers.Serializer):
    code = serializers.CharField()
    grade = serializers.ChoiceField(choices=Grade.choices)
    explanation = serializers.CharField()


def rules_payload(rules) -> list[dict]:
    language = get_language() or "en"
    return [{"code": rule.code, "grade": rule.grade, "explanation": rule.explanation(language)} for rule in rules]


class FactsField(serializers.DictField):
    """The facts object; names and types per category are checked by `clean_facts`."""


class GradeRequestSerializer(serializers.Serializer):
    plant = serializers.CharField(help_text=_("Plant id or code."))
    category = serializers.ChoiceField(choices=Category.choices)
    facts = FactsField(required=False, default=dict)

    def validate_plant(self, value):
        pk = parse_id(value)
        by_id = Q(pk=pk) if pk else Q(pk__in=[])
        plant = visible_plants(self.context["request"].user).filter(by_id | Q(code__iexact=value)).first()
        if plant is None:
            raise ValidationError(_("No plant with this id or code in your scope."))
        return plant

    def validate(self, attrs):
        facts, errors = clean_facts(attrs["category"], attrs.get("facts") or {})
        if errors:
            raise ValidationError({"facts": errors})
        attrs["facts"] = facts
        return attrs


class GradeResponseSerializer(serializers.Serializer):
    grade = serializers.ChoiceField(choices=Grade.choices)
    rules = FiredRuleSerializer(many=True)
    explanation = serializers.CharField()
    table_version = serializers.IntegerField()


@extend_schema(
    request=GradeRequestSerializer,
    responses={200: GradeResponseSerializer, 400: OpenApiResponse(description="Field errors"), 413: TOO_LARGE},
    summary="Grade facts without storing anything",
)
@api_view(["POST"])
@parser_classes(PARSERS)
@permission_classes([permissions.IsAuthenticated])
def grade_view(request):
    serializer = GradeRequestSerializer(data=request.data, context={"request": request})
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    table = current_table(data["plant"])
    result = grading.grade(data["category"], data["facts"], as_grading_table(table))
    return Response(
        {
            "grade": result.grade,
            "rules": rules_payload(result.rules),
            "explanation": result.explanation(get_language() or "en"),
            "table_version": table.version,
        }
    )


class ProblemSerializer(serializers.ModelSerializer):
    plant = serializers.CharField(source="plant.code", read_only=True)
    line_name = serializers.CharField(source="line.name", read_only=True)
    failure_mode = serializers.CharField(source="failure_mode.name", read_only=True, default=None, allow_null=True)
    cause_family = serializers.ChoiceField(choices=CauseFamily.choices, read_only=True, allow_blank=True)
    rules = serializers.SerializerMethodField()
    explanation = serializers.SerializerMethodField()
    table_version = serializers.IntegerField(source="threshold_table.version", read_only=True)

    class Meta:
        model = Problem
        fields = [
            "id",
            "number",
            "plant",
            "line",
            "line_name",
            "station",
            "shift",
            "category",
            "kind",
            "cause_family",
            "failure_mode",
            "source",
            "title",
            "description",
            "occurred_at",
            "reported_at",
            "facts",
            "grade",
            "base_grade",
            "rules",
            "explanation",
            "table_version",
            "prior_occurrences",
            "special_team_required",
            "status",
        ]
        read_only_fields = fields

    @extend_schema_field(FiredRuleSerializer(many=True))
    def get_rules(self, problem: Problem) -> list[dict]:
        return rules_payload(problem.grading.rules)

    def get_explanation(self, problem: Problem) -> str:
        return problem.explanation(get_language() or "en")


class PlantLocalDateTimeField(serializers.DateTimeField):
    """ISO 8601; a time without an offset is read in the plant's own time zone (the line's),
    the same for a machine with a token as for a person in the browser."""

    def enforce_timezone(self, value):
        return value if timezone.is_naive(value) else super().enforce_timezone(value)


class IdField(serializers.PrimaryKeyRelatedField):
    """An id is a whole number: a JSON integer, or digits in a form. The lookup itself would
    read 1.5 (or "1.5", or true) as 1, and an id past 64 bits made the database raise."""

    def to_internal_value(self, data):
        number = data if isinstance(data, int) and not isinstance(data, bool) else whole_number(data)
        if number is None:
            self.fail("incorrect_type", data_type=type(data).__name__)
        pk = parse_id(number)
        if pk is None:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(pk)


class ProblemCreateSerializer(serializers.Serializer):
    line = IdField(queryset=Line.objects.none())
    category = serializers.ChoiceField(choices=Category.choices)
    title = serializers.CharField(max_length=140)
    occurred_at = PlantLocalDateTimeField(help_text=_("ISO 8601; without an offset, the plant's local time."))
    facts = FactsField(required=False, default=dict)
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    shift = IdField(queryset=Shift.objects.none(), required=False, allow_null=True)
    station = IdField(queryset=Station.objects.none(), required=False, allow_null=True)
    kind = serializers.ChoiceField(choices=Kind.choices, required=False, default=Kind.QC)
    cause_family = serializers.ChoiceField(choices=CauseFamily.choices, required=False, allow_blank=True, default="")
    failure_mode = serializers.CharField(required=False, allow_blank=True, default="", max_length=120)
    source = serializers.ChoiceField(choices=Source.choices, required=False, default=Source.LINE)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The schema generator builds this serializer without a request: then no line is choosable.
        request = self.context.get("request")
        user = request.user if request is not None else AnonymousUser()
        lines = visible_lines(user, "issues.add_problem").filter(active=True)
        self.fields["line"].queryset = lines
        self.fields["shift"].queryset = Shift.objects.filter(plant__workshops__lines__in=lines).distinct()
        self.fields["station"].queryset = Station.objects.filter(line__in=lines)

    def validate_title(self, value: str) -> str:
        if not value.strip():
            raise ValidationError(_("Give a short title."))
        return value.strip()

    def validate(self, attrs):
        occurred_at = attrs["occurred_at"]
        if timezone.is_naive(occurred_at):
            occurred_at = attrs["occurred_at"] = occurred_at.replace(tzinfo=attrs["line"].workshop.plant.zone)
        try:
            validate_occurred_at(occurred_at, timezone.now())
        except DjangoValidationError as exc:
            raise ValidationError({"occurred_at": exc.messages}) from exc
        facts, errors = clean_facts(attrs["category"], attrs.get("facts") or {})
        if errors:
            raise ValidationError({"facts": errors})
        attrs["facts"] = facts
        shift = attrs.get("shift")
        if shift and shift.plant_id != attrs["line"].workshop.plant_id:
            raise ValidationError({"shift": _("This shift belongs to another plant.")})
        station = attrs.get("station")
        if station and station.line_id != attrs["line"].pk:
            raise ValidationError({"station": _("This station is not on the chosen line.")})
        return attrs

    def to_report(self) -> Report:
        data = self.validated_data
        line = data["line"]
        return Report(
            line=line,
            category=data["category"],
            title=data["title"],
            occurred_at=data["occurred_at"],
            facts=data["facts"],
            description=data["description"].strip(),
            shift=data.get("shift"),
            station=data.get("station"),
            kind=data["kind"],
            cause_family=data["cause_family"],
            failure_mode=failure_mode_named(line.workshop.plant, data["failure_mode"], data["category"]),
            source=data["source"],
        )


IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Repeat a create with the same key and the same body and get the first problem back (200) instead of a "
        "second one. The same key with another body is refused (422)."
    ),
)


class ProblemViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = ProblemSerializer
    parser_classes = PARSERS
    permission_classes = [permissions.IsAuthenticated, ModelPermissions]
    filterset_class = ProblemFilter

    def get_queryset(self):
        return (
            visible_problems(self.request.user)
            .select_related("plant", "line__workshop", "failure_mode", "threshold_table")
            .order_by("-occurred_at", "-id")
        )

    @extend_schema(
        responses={
            200: ProblemSerializer(many=True),
            400: OpenApiResponse(description="Filter values, limit or offset that are not valid or not in your scope"),
        }
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=ProblemCreateSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            201: ProblemSerializer,
            200: OpenApiResponse(ProblemSerializer, description="Replay of an earlier request with the same key"),
            400: OpenApiResponse(description="Field errors"),
            413: TOO_LARGE,
            422: OpenApiResponse(description="The Idempotency-Key was used before with another body"),
        },
    )
    def create(self, request, *args, **kwargs):
        key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
        if len(key) > 80:
            raise ValidationError({IDEMPOTENCY_HEADER: [_("At most 80 characters.")]})
        if not key.isprintable():
            raise ValidationError({IDEMPOTENCY_HEADER: [_("Use printable characters only.")]})
        serializer = ProblemCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        try:
            problem, created = report_problem(serializer.to_report(), reporter=request.user, idempotency_key=key)
        except IdempotencyConflict as conflict:
            message = _(
                "This Idempotency-Key was used for %(number)s, with another body. Send a new key for a new problem."
            ) % {"number": conflict.problem.number}
            return Response({"detail": message}, status=status.HTTP_422_UNPROCESSABLE_ENTITY)
        payload = ProblemSerializer(problem, context={"request": request}).data
        return Response(payload, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(
        responses={200: ProblemSerializer, 404: OpenApiResponse(description="Not found or not in your scope")}
    )
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)
