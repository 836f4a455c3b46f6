from copytrading.models.archive import ArchivedCopyTrade, ArchivedLeaderTrade
from copytrading.models.deployments import Deployment
from copytrading.models.detection import ChainCursor as ChainCursor
from copytrading.models.detection import DetectorState as DetectorState
from copytrading.models.leaders import LeaderTrade, WatchedWallet
from copytrading.models.markets import MarketLabel
from copytrading.models.notifications import Notification, NotificationSettings
from copytrading.models.positions import Position
from copytrading.models.profiles import LeaderProfile
from copytrading.models.relationships import CopyRelationship, live_follows
from copytrading.models.trades import CopyTrade

__all__ = [
    "ArchivedCopyTrade",
    "ArchivedLeaderTrade",
    "CopyRelationship",
    "CopyTrade",
    "Deployment",
    "LeaderProfile",
    "LeaderTrade",
    "MarketLabel",
    "Notification",
    "NotificationSettings",
    "Position",
    "WatchedWallet",
    "live_follows",
]
