from django.urls import path, re_path

from issues.eightd import lesson_views, pdf_views, views

app_name = "eightd"
urlpatterns = [
    # Reuse (issues/eightd/lesson_views.py): the lessons-learned library, intake hints, copying an 8D.
    path("lessons/", lesson_views.lesson_list, name="lesson_list"),
    path("problems/already-known/", lesson_views.already_known, name="already_known"),
    path("problems/<int:pk>/8d/copy/", lesson_views.eightd_copy, name="copy"),
    # The 8D report editor (issues/eightd/views.py).
    path("problems/<int:pk>/8d/", views.report_page, name="report"),
    path("problems/<int:pk>/8d/start/", views.start, name="start"),
    path("problems/<int:pk>/8d/header/", views.header, name="header"),
    # The 8D printout for customers (issues/eightd/pdf_views.py).
    path("problems/<int:pk>/8d.pdf", pdf_views.eightd_pdf, name="pdf"),
    # Section codes are matched here, so other 8D pages (start/, copy/, …) never reach the section views.
    re_path(r"^problems/(?P<pk>[0-9]+)/8d/(?P<code>D[0-8])/$", views.section_page, name="section"),
    re_path(
        r"^problems/(?P<pk>[0-9]+)/8d/(?P<code>D[0-8])/attachments/$",
        views.attachment_upload,
        name="attachment_upload",
    ),
    re_path(
        r"^problems/(?P<pk>[0-9]+)/8d/(?P<code>D[0-8])/attachments/(?P<token>[0-9a-f]+)/delete/$",
        views.attachment_delete,
        name="attachment_delete",
    ),
    re_path(
        r"^problems/(?P<pk>[0-9]+)/8d/(?P<code>D[0-8])/(?P<action>save|submit|accept|return|reopen|na)/$",
        views.section_action,
        name="section_action",
    ),
    path("attachments/<str:token>/", views.attachment_file, name="attachment"),
    path("attachments/<str:token>/thumb.jpg", views.attachment_file, {"size": "thumb"}, name="attachment_thumb"),
]
