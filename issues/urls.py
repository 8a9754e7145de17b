from django.urls import path, re_path
from django.views.generic import RedirectView

from issues import (
    board_views,
    eightd_views,
    lifecycle_views,
    meeting_views,
    pdf_views,
    qchart_views,
    reuse_views,
    views,
)

urlpatterns = [
    path("", views.home, name="home"),
    path("problems/", views.problem_list, name="problem_list"),
    path("problems/new/", views.problem_new, name="problem_new"),
    path("problems/grade-preview/", views.grade_preview, name="grade_preview"),
    # Reuse (issues/reuse_views.py): the lessons-learned library, intake hints, copying an 8D.
    path("lessons/", reuse_views.lesson_list, name="lesson_list"),
    path("problems/already-known/", reuse_views.already_known, name="already_known"),
    path("problems/<int:pk>/8d/copy/", reuse_views.eightd_copy, name="eightd_copy"),
    path("problems/<int:pk>/", views.problem_detail, name="problem_detail"),
    path("p/<int:pk>/", RedirectView.as_view(pattern_name="problem_detail"), name="problem_short"),
    # The "Status and owner" card's actions (issues/lifecycle_views.py).
    path("problems/<int:pk>/assign/", lifecycle_views.assign, name="problem_assign"),
    re_path(
        rf"^problems/(?P<pk>[0-9]+)/stage/(?P<action>{lifecycle_views.STAGE_ACTIONS})/$",
        lifecycle_views.stage,
        name="problem_stage",
    ),
    path("problems/<int:pk>/close/", lifecycle_views.close, name="problem_close"),
    path("problems/<int:pk>/cancel/", lifecycle_views.cancel, name="problem_cancel"),
    path("problems/<int:pk>/reopen/", lifecycle_views.reopen, name="problem_reopen"),
    path("photos/<str:token>.jpg", views.photo, name="photo"),
    path("photos/<str:token>/thumb.jpg", views.photo, {"size": "thumb"}, name="photo_thumb"),
    # The 8D report editor (issues/eightd_views.py).
    path("problems/<int:pk>/8d/", eightd_views.report_page, name="eightd_report"),
    path("problems/<int:pk>/8d/start/", eightd_views.start, name="eightd_start"),
    path("problems/<int:pk>/8d/header/", eightd_views.header, name="eightd_header"),
    # The 8D printout for customers (issues/pdf_views.py).
    path("problems/<int:pk>/8d.pdf", pdf_views.eightd_pdf, name="eightd_pdf"),
    # Section codes are matched here, so other 8D pages (start/, copy/, …) never reach the section views.
    re_path(r"^problems/(?P<pk>[0-9]+)/8d/(?P<code>D[0-8])/$", eightd_views.section_page, name="eightd_section"),
    re_path(
        r"^problems/(?P<pk>[0-9]+)/8d/(?P<code>D[0-8])/attachments/$",
        eightd_views.attachment_upload,
        name="eightd_attachment_upload",
    ),
    re_path(
        r"^problems/(?P<pk>[0-9]+)/8d/(?P<code>D[0-8])/attachments/(?P<token>[0-9a-f]+)/delete/$",
        eightd_views.attachment_delete,
        name="eightd_attachment_delete",
    ),
    re_path(
        r"^problems/(?P<pk>[0-9]+)/8d/(?P<code>D[0-8])/(?P<action>save|submit|accept|return|reopen|na)/$",
        eightd_views.section_action,
        name="eightd_section_action",
    ),
    path("attachments/<str:token>/", eightd_views.attachment_file, name="eightd_attachment"),
    path(
        "attachments/<str:token>/thumb.jpg",
        eightd_views.attachment_file,
        {"size": "thumb"},
        name="eightd_attachment_thumb",
    ),
]

# A QRQC meeting's minutes on paper (issues/pdf_views.py).
urlpatterns.append(path("meetings/<int:pk>/minutes.pdf", pdf_views.meeting_minutes_pdf, name="meeting_minutes_pdf"))

# The daily QRQC board, Q chart and meeting (issue #5): each module lists its own pages.
urlpatterns += board_views.urlpatterns + qchart_views.urlpatterns + meeting_views.urlpatterns
