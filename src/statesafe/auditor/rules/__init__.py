"""The rules, one per module, in code order. ``RULES`` maps a code to its class."""

from __future__ import annotations

from statesafe.auditor.rule import Rule
from statesafe.auditor.rules.companion_deleted import CompanionDeleted
from statesafe.auditor.rules.companion_edited_in_place import CompanionEditedInPlace
from statesafe.auditor.rules.compiled_content_missing_fields import CompiledContentMissingFields
from statesafe.auditor.rules.compiled_deleted import CompiledDeleted
from statesafe.auditor.rules.compiled_edited_in_place import CompiledEditedInPlace
from statesafe.auditor.rules.copy_onto_destructive_file import CopyOntoDestructiveFile
from statesafe.auditor.rules.destructive_file_deleted import DestructiveFileDeleted
from statesafe.auditor.rules.log_deleted_or_replaced import LogDeletedOrReplaced
from statesafe.auditor.rules.log_record_split import LogRecordSplit
from statesafe.auditor.rules.log_rewritten import LogRewritten
from statesafe.auditor.rules.multi_file_write_outside_transaction import MultiFileWriteOutsideTransaction
from statesafe.auditor.rules.raw_write_to_destructive_file import RawWriteToDestructiveFile
from statesafe.auditor.rules.rename_onto_destructive_file import RenameOntoDestructiveFile
from statesafe.auditor.rules.shell_rewrite_of_log import ShellRewriteOfLog
from statesafe.auditor.rules.shell_write_to_destructive_file import ShellWriteToDestructiveFile
from statesafe.auditor.rules.skill_grants_write_without_policy import SkillGrantsWriteWithoutPolicy
from statesafe.auditor.rules.skill_shell_writes_policy_file import SkillShellWritesPolicyFile
from statesafe.auditor.rules.source_too_deep import SourceTooDeep
from statesafe.auditor.rules.statesafe_write_to_log import StatesafeWriteToLog
from statesafe.auditor.rules.undecodable_source import UndecodableSource
from statesafe.auditor.rules.unparsable_source import UnparsableSource
from statesafe.auditor.rules.unresolved_write_target import UnresolvedWriteTarget
from statesafe.auditor.rules.unused_suppression import UnusedSuppression

RULES: dict[str, type[Rule]] = {rule.CODE: rule for rule in sorted((
    RawWriteToDestructiveFile, RenameOntoDestructiveFile, CopyOntoDestructiveFile, DestructiveFileDeleted,
    ShellWriteToDestructiveFile, LogRewritten, LogDeletedOrReplaced, StatesafeWriteToLog, LogRecordSplit,
    ShellRewriteOfLog, CompanionEditedInPlace, CompanionDeleted, CompiledEditedInPlace, CompiledDeleted,
    CompiledContentMissingFields, MultiFileWriteOutsideTransaction, SkillGrantsWriteWithoutPolicy,
    SkillShellWritesPolicyFile, UnusedSuppression, UnresolvedWriteTarget, UnparsableSource, UndecodableSource,
    SourceTooDeep,
), key=lambda rule: rule.CODE)}

__all__ = ["RULES"]
