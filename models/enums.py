"""Controlled vocabularies of the reference system, spelled exactly as it spells them."""

STATES = ("A", "D")
ACCESS = ("consortia", "institution", "restricted")
STORAGE_OPTIONS = (
    "Glacier-Deep-OH",
    "Glacier-Deep-OR",
    "Glacier-Deep-VA",
    "Glacier-OH",
    "Glacier-OR",
    "Glacier-VA",
    "Standard",
    "Wasabi-OR",
    "Wasabi-TX",
    "Wasabi-VA",
)
GLACIER_ONLY = tuple(s for s in STORAGE_OPTIONS if s.startswith("Glacier"))
INSTITUTION_TYPES = ("MemberInstitution", "SubscriptionInstitution")
ROLES = ("admin", "institutional_admin", "institutional_user", "none")
SYSADMIN = "admin"
# The reference's service account (a sysadmin of the operator's institution): it requests the
# spot-test restores and is left out of the operator staff's fixity alerts.
SYSTEM_USER = "system@aptrust.org"
CHECKSUM_ALGORITHMS = ("md5", "sha1", "sha256", "sha512")
EVENT_TYPES = (
    "access assignment",
    "creation",
    "deletion",
    "fixity check",
    "identifier assignment",
    "ingestion",
    "message digest calculation",
    "replication",
    "validation",
)
EVENT_OUTCOMES = ("Failure", "Success")
WORK_ITEM_ACTIONS = ("Delete", "Glacier Restore", "Ingest", "Restore File", "Restore Object")
WORK_ITEM_STAGES = (
    "Available in S3",
    "Cleanup",
    "Copy To Staging",
    "Fetch",
    "Format Identification",
    "Package",
    "Receive",
    "Record",
    "Reingest Check",
    "Requested",
    "Resolve",
    "Restoring",
    "Storage Validation",
    "Store",
    "Unpack",
    "Validate",
)
WORK_ITEM_STATUSES = ("Cancelled", "Failed", "Pending", "Started", "Success", "Suspended")
COMPLETED_STATUSES = ("Cancelled", "Failed", "Success")
ALERT_TYPES = (
    "Deletion Cancelled",
    "Deletion Completed",
    "Deletion Confirmed",
    "Deletion Requested",
    "Failed Fixity Check",
    "Password Changed",
    "Password Reset",
    "Restoration Completed",
    "Stalled Work Items",
    "Welcome New User",
)
BAGIT_PROFILE_APTRUST = "https://raw.githubusercontent.com/APTrust/preservation-services/master/profiles/aptrust-v2.2.json"
BAGIT_PROFILE_BTR = "https://github.com/dpscollaborative/btr_bagit_profile/releases/download/1.0/btr-bagit-profile.json"
BAGIT_PROFILES = (BAGIT_PROFILE_BTR, BAGIT_PROFILE_APTRUST)
