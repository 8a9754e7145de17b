"""The default threshold rules, read from DOMAIN.md §3.1–3.7 (migration 0002 seeds them).

Rows, not code: a plant copies the template when it is created and edits its own copy (each
edit a new version). Labels use {n} for the fact's value.
"""

from decimal import Decimal

D = Decimal


def rule(category, code, grade, fact, operator, limit=None, upper=None, *, match="", when=("", ""), en, zh):
    return {
        "category": category, "code": code, "grade": grade, "fact": fact, "operator": operator,
        "limit": None if limit is None else D(limit), "upper_limit": None if upper is None else D(upper),
        "match": match, "when_fact": when[0], "when_value": when[1], "label_en": en, "label_zh": zh,
    }


def defect_bands(defect_class, intermittent, consecutive):
    """§3.1 table: for one defect class, C/B/A bands of the intermittent total and the run."""
    (i_low, i_high), (c_low, c_high) = intermittent, consecutive
    q = "quality"
    when = ("defect_class", defect_class)
    k = defect_class.lower()
    en_i = f"{{n}} {defect_class}-class defects intermittently this shift"
    zh_i = f"本班 {defect_class} 类缺陷间断性 {{n}} 件"
    en_c = f"{{n}} {defect_class}-class defects in a row"
    zh_c = f"{defect_class} 类缺陷连续 {{n}} 件"
    return [
        rule(q, f"quality-{k}-defects-intermittent-c", "C", "defect_count", "between", 0, i_low, when=when, en=en_i, zh=zh_i),
        rule(q, f"quality-{k}-defects-intermittent-b", "B", "defect_count", "between", i_low, i_high, when=when, en=en_i, zh=zh_i),
        rule(q, f"quality-{k}-defects-intermittent-a", "A", "defect_count", "gt", i_high, when=when, en=en_i, zh=zh_i),
        rule(q, f"quality-{k}-defects-consecutive-c", "C", "consecutive_count", "between", 0, c_low, when=when, en=en_c, zh=zh_c),
        rule(q, f"quality-{k}-defects-consecutive-b", "B", "consecutive_count", "between", c_low, c_high, when=when, en=en_c, zh=zh_c),
        rule(q, f"quality-{k}-defects-consecutive-a", "A", "consecutive_count", "gt", c_high, when=when, en=en_c, zh=zh_c),
    ]


DEFAULT_RULES = [
    *defect_bands("A", (10, 20), (5, 10)),
    *defect_bands("B", (20, 40), (10, 20)),
    *defect_bands("C", (40, 60), (20, 40)),
    rule("quality", "quality-customer-complaint", "A", "customer_complaint", "true",
         en="causes a customer complaint", zh="造成客户投诉"),
    rule("quality", "quality-customer-returns", "A", "customer_return_count", "gte", 5,
         en="{n} pieces returned by the customer, same batch and failure", zh="客户同批次同失效退货 {n} 件"),
    rule("quality", "quality-poka-yoke-failure", "A", "poka_yoke_failure", "true",
         en="an error-proofing (poka-yoke) verification station failed", zh="防错验证工位失效"),
    rule("quality", "quality-batch-problem", "A", "batch_problem", "true",
         en="a batch quality problem", zh="批量质量问题"),
    rule("quality", "quality-teardown-hard-failures", "A", "teardown_hard_failures", "gte", 2,
         en="{n} hard failures found by teardown", zh="内外部拆解发现硬失效 {n} 件"),
    rule("quality", "quality-zero-tolerance", "B", "zero_tolerance_count", "gte", 1,
         en="{n} zero-tolerance defects (leak, wrong or missing part, escaped sample)",
         zh="零容忍缺陷 {n} 件（泄漏、错装漏装、不良样件流出）"),
    rule("quality", "quality-records-missing", "C", "records_missing", "true",
         en="records not kept as required", zh="未按要求记录"),
    rule("quality", "quality-nonstandard-operation", "C", "nonstandard_operation", "true",
         en="operation not matching the standard work", zh="操作与标准作业不符"),

    rule("equipment", "equipment-a-characteristic-function", "A", "characteristic_class", "equals", match="A",
         en="a key function controlling A-class characteristics failed", zh="控制 A 类特性的关键功能失效"),
    rule("equipment", "equipment-b-characteristic-function", "B", "characteristic_class", "equals", match="B",
         en="a function controlling B-class characteristics failed", zh="控制 B 类特性的功能失效"),
    rule("equipment", "equipment-c-characteristic-function", "C", "characteristic_class", "equals", match="C",
         en="a function controlling C-class characteristics failed", zh="控制 C 类特性的功能失效"),
    rule("equipment", "equipment-downtime-a", "A", "downtime_minutes", "gt", 120,
         en="{n} min unplanned downtime", zh="非计划停机 {n} 分钟"),
    rule("equipment", "equipment-downtime-b", "B", "downtime_minutes", "between", 60, 120,
         en="{n} min unplanned downtime", zh="非计划停机 {n} 分钟"),
    rule("equipment", "equipment-critical-spare-missing", "B", "critical_spare_missing", "true",
         en="a critical spare part is missing", zh="关键备件缺失"),
    rule("equipment", "equipment-efficiency-missed", "C", "efficiency_missed", "true",
         en="equipment efficiency target missed", zh="设备效率未达标"),
    rule("equipment", "equipment-maintenance-missed", "C", "maintenance_missed", "true",
         en="planned checks or maintenance not done to standard", zh="未按计划点检或保养"),

    rule("utilities", "utilities-environment-a", "A", "environment_out_minutes", "gt", 120,
         en="environment control out of limits for {n} min", zh="环境控制超限 {n} 分钟未恢复"),
    rule("utilities", "utilities-environment-b", "B", "environment_out_minutes", "between", 60, 120,
         en="environment control out of limits for {n} min", zh="环境控制超限 {n} 分钟未恢复"),
    rule("utilities", "utilities-interruption-a", "A", "interruption_minutes", "gt", 120,
         en="{n} min unplanned utility interruption", zh="非计划动力中断 {n} 分钟"),
    rule("utilities", "utilities-interruption-b", "B", "interruption_minutes", "between", 60, 120,
         en="{n} min unplanned utility interruption", zh="非计划动力中断 {n} 分钟"),
    rule("utilities", "utilities-interruption-c", "C", "interruption_minutes", "between", 0, 60,
         en="interruption of {n} min, recovered within one hour", zh="中断 {n} 分钟，一小时内恢复"),
    rule("utilities", "utilities-maintenance-missed", "C", "maintenance_missed", "true",
         en="utility equipment not maintained on its cycle", zh="动力设备未按周期保养"),
    rule("utilities", "utilities-special-equipment", "C", "special_equipment_uninspected", "true",
         en="special equipment not inspected or maintained as required", zh="特种设备未按要求检验保养"),

    rule("material", "material-line-stop-a", "A", "line_stop_minutes", "gt", 120,
         en="material stopped the line for {n} min", zh="物料异常停线 {n} 分钟"),
    rule("material", "material-line-stop-b", "B", "line_stop_minutes", "between", 60, 120,
         en="material stopped the line for {n} min", zh="物料异常停线 {n} 分钟"),
    rule("material", "material-waiting", "B", "waiting_minutes", "gt", 30,
         en="workshop waited {n} min for material", zh="车间待料 {n} 分钟"),
    rule("material", "material-incoming-delivery-affected", "A", "incoming_abnormal", "true",
         when=("delivery_affected", "true"),
         en="incoming material abnormal and delivery affected", zh="来料异常且影响交付"),
    rule("material", "material-incoming", "B", "incoming_abnormal", "true", when=("delivery_affected", "false"),
         en="incoming material abnormal, delivery not affected", zh="来料异常，未影响交付"),
    rule("material", "material-packaging", "C", "packaging_issue", "true",
         en="packaging or labelling issue, quality and delivery not affected", zh="包装、标识等问题，不影响质量和交付"),

    rule("safety", "safety-major-hazard", "A", "major_hazard", "true",
         en="a major safety hazard", zh="重大安全隐患"),
    rule("safety", "safety-accident", "A", "accident", "true",
         en="a safety or environmental accident", zh="安全或环境事故"),
    rule("safety", "safety-hazard-risk", "B", "hazard_risk_score", "gt", 150,
         en="unidentified hazard with risk score {n}", zh="未识别危险源，风险值 {n}"),
    rule("safety", "safety-incident", "B", "incident", "true",
         en="a safety or environmental incident (no injury or damage)", zh="安全或环境事件（无伤害、无损失）"),
    rule("safety", "safety-procedure-violation", "C", "procedure_violation", "true",
         en="work not done to the operating procedure", zh="未按操作规程作业"),

    rule("people", "people-shortage", "A", "shortage_percent", "gt", 10,
         en="workshop short of staff by {n} %", zh="车间缺员 {n}%"),
    rule("people", "people-discipline-breach", "A", "discipline_breach", "true",
         en="serious discipline breach (fight, theft)", zh="严重违纪（打架、盗窃）"),
    rule("people", "people-ab-process-not-executed", "B", "ab_process_not_executed", "true",
         en="process requirements for A/B-class characteristics not executed", zh="影响 A/B 类特性的工艺要求未执行"),
    rule("people", "people-individual-absence", "C", "individual_absence", "true",
         en="an individual absence or a stand-in at a post", zh="个人缺勤或顶岗"),

    rule("recurrence", "recurrence-c-second-time", "B", "prior_occurrences", "between", 0, 1,
         when=("base_grade", "C"),
         en="C problem occurring again: {n} earlier occurrence in the window (same failure mode, line and cause)",
         zh="C 类问题再次发生：窗口期内已发生 {n} 次（同失效模式、同产线、同原因）"),
    rule("recurrence", "recurrence-c-keeps-recurring", "A", "prior_occurrences", "gte", 2,
         when=("base_grade", "C"),
         en="C problem keeps recurring: {n} earlier occurrences in the window (same failure mode, line and cause)",
         zh="C 类问题反复发生：窗口期内已发生 {n} 次（同失效模式、同产线、同原因）"),
    rule("recurrence", "recurrence-ab-repeated", "A", "prior_occurrences", "gte", 1,
         when=("base_grade", "A|B"),
         en="repeated A/B problem: {n} earlier occurrence(s) in the window (same failure mode, line and cause)",
         zh="A/B 类问题重复发生：窗口期内已发生 {n} 次（同失效模式、同产线、同原因）"),
]




def seed_default_template(table_model, rule_model):
    """Write the default template (plant empty) as version 1; models may be historical ones."""
    template = table_model.objects.create(plant=None, version=1, note="defaults from DOMAIN.md §3")
    rule_model.objects.bulk_create(rule_model(table=template, **row) for row in DEFAULT_RULES)
    return template
