from __future__ import annotations

from django.urls import path

from copytrading.views import custody, dashboard, follows, history, leaders, notifications

urlpatterns = [
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("dashboard/copies/", dashboard.dashboard_copies, name="dashboard_copies"),
    path("leaders/", leaders.leaders, name="leaders"),
    path("leaders/propose/", leaders.leader_propose_view, name="leader_propose"),
    path("leaders/<uuid:code>/", leaders.leader_detail, name="leader_detail"),
    path("follows/", follows.follows_list, name="follows"),
    path("follows/new/", follows.follow_new, name="follow_new"),
    path("follows/<uuid:code>/", follows.follow_edit, name="follow_edit"),
    path("follows/<uuid:code>/status/", follows.follow_status, name="follow_status"),
    path("custody/", custody.custody, name="custody"),
    path("custody/<uuid:code>/", custody.custody_account, name="custody_account"),
    path("custody/<uuid:code>/paper/", custody.custody_paper, name="custody_paper"),
    path("custody/<uuid:code>/speed/", custody.custody_speed, name="custody_speed"),
    path("custody/<uuid:code>/session/", custody.custody_session, name="custody_session"),
    path("custody/<uuid:code>/fleet/", custody.custody_fleet, name="custody_fleet"),
    path("custody/<uuid:code>/session/verify/", custody.custody_session_verify, name="custody_session_verify"),
    path("custody/<uuid:code>/session/wallet/", custody.custody_session_wallet, name="custody_session_wallet"),
    path("custody/<uuid:code>/session/rotate/", custody.custody_session_rotate, name="custody_session_rotate"),
    path("history/", history.history, name="history"),
    path("history.csv", history.history_export, name="history_csv"),
    path("alerts/", notifications.notifications, name="notifications"),
    path("alerts/test/", notifications.notifications_test, name="notifications_test"),
]
