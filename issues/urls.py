from django.urls import path, re_path

from issues import (
    board_views,
    eightd_views,
    meeting_views,
    pdf_views,
    qchart_views,
    reuse_views,
)

urlpatterns = [
    # Reuse (issues/reuse_views.py): the lessons-learned library, intake hints, copying an 8D.
    path("lessons/", reuse_views.lesson_list, name="lesson_list"),
    path("problems/already-known/", reuse_views.already_known, name="already_known"),
    path("problems/<int:pk>/8d/copy/", reuse_views.eightd_copy, name="eightd_copy"),
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
