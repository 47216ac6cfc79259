"""What a refusal says to the reader, in their language: one message per problem kind the
pages can meet, and one per form field that a 422 can name. The API's own ``detail`` is in
English; these are the catalogue's messages, so a Russian reader reads Russian. ``N_`` only
marks a message for extraction (``pybabel extract -k N_``); it is translated when shown."""

from __future__ import annotations

from collections.abc import Callable


def N_(message: str) -> str:
    return message


PROBLEMS: dict[str, str] = {
    "unauthenticated": N_("Please sign in again: your session has ended."),
    "forbidden": N_("You are not allowed to do this."),
    "not-found": N_("This page does not exist."),
    "validation": N_("Please correct the fields marked below."),
    "body-too-large": N_("What you sent is too long."),
    "rate-limited": N_("Too many attempts. Please wait a minute and try again."),
    "service-unavailable": N_("The platform cannot be reached right now. Please try again."),
    "database-busy": N_("The platform is busy. Nothing was changed; please try again."),
    "database-unavailable": N_("The platform is busy. Nothing was changed; please try again."),
    "catching-up": N_("The platform is catching up. Nothing was changed; please try again."),
    "upstream-timeout": N_("The platform took too long to answer. Please try again."),
    "idempotency-key-in-use": N_("This form is still being sent. Please wait a moment."),
    "idempotency-key-answer-lost": N_("This form was sent. Reload the page to see the result."),
    "idempotency-key-reused": N_("This form was sent already. Reload the page to continue."),
    "invalid-credentials": N_("Wrong e-mail or password."),
    "too-many-sign-in-attempts": N_("Too many failed sign-ins. Please wait and try again."),
    "email-taken": N_("An account with this e-mail exists already."),
    "hackathon-not-found": N_("There is no such hackathon."),
    "team-not-found": N_("There is no such team."),
    "submission-not-found": N_("The team has not submitted yet."),
    "account-not-found": N_("No account has this e-mail address."),
    "judge-not-found": N_("This person is not a judge of this hackathon."),
    "results-not-published": N_("The results are not published yet."),
    "not-registered": N_("Register for the hackathon first."),
    "wrong-invite-code": N_("This invite code is not the team's."),
    "not-a-member": N_("Only the team's members may do this."),
    "not-assigned": N_("Only a judge assigned to this submission may score it."),
    "conflict-of-interest": N_(
        "You may not judge this team: you are or were in it, or declared a conflict with it."
    ),
    "not-published": N_("The leaderboard is public once the results are published."),
    "phase-transition": N_("A hackathon moves only to its next phase."),
    "wrong-phase": N_("This is not possible in the hackathon's current phase."),
    "already-registered": N_("You are registered for this hackathon already."),
    "already-enrolled": N_("This judge is enrolled already."),
    "already-in-team": N_("You are in a team of this hackathon already."),
    "team-name-taken": N_("A team of this hackathon has this name already."),
    "hackathon-full": N_("The hackathon has as many teams as it allows."),
    "team-full": N_("This team is full."),
    "team-withdrawn": N_("This team has withdrawn."),
    "team-too-small": N_("The team needs more members before it can submit."),
    "deadline-passed": N_("The submission deadline has passed."),
    "results-published": N_("The results are published already."),
    "submission-withdrawn": N_("This submission was withdrawn."),
    "too-many-webhooks": N_("This hackathon has as many webhooks as it allows."),
    "too-many-streams": N_("Too many open pages follow your notifications."),
    "error": N_("Something went wrong. Please try again."),
}

FIELDS: dict[str, str] = {
    "email": N_("Enter an e-mail address, like name@example.org."),
    "password": N_("The password needs at least 10 characters."),
    "display_name": N_("Enter the name others will see."),
    "name": N_("Enter a name."),
    "consent": N_("Registration needs your consent."),
    "sector": N_("Choose your sector."),
    "invite_code": N_("Enter the team's invite code."),
    "challenge_id": N_("Choose a challenge."),
    "title": N_("The title needs 3 to 120 characters."),
    "summary": N_("The summary needs 1 to 5000 characters."),
    "kind": N_("Choose a kind."),
    "repo_url": N_("Enter a web address starting with https://."),
    "demo_url": N_("Enter a web address starting with https://."),
    "comment": N_("The comment is too long."),
    "scores": N_("Enter a number within the criterion's range."),
    "score": N_("Enter a number within the criterion's range."),
    "challenges": N_("Give at least one challenge, one per line, with distinct titles."),
    "rubric": N_("Give at least one criterion, one per line: key | name | weight | min | max."),
    "awards": N_("Give each award on its own line: rank | name | kind | amount."),
    "min_team_size": N_("Enter a team size of at least 1."),
    "max_team_size": N_("Enter a team size no smaller than the minimum."),
    "max_teams": N_("Enter how many teams may take part."),
    "judges_per_submission": N_("Enter how many judges score each submission."),
    "submission_deadline": N_("Enter a deadline between the years 2000 and 2100."),
    "description": N_("The description is too long."),
    "url": N_("Enter a public https:// address."),
    "secret": N_("The secret needs 16 to 200 characters."),
    "conflicts": N_("Choose teams of this hackathon."),
}
GENERIC_FIELD = N_("This value is not accepted.")


def problem_message(gettext: Callable[[str], str], kind: str, field: str | None = None) -> str:
    """The reader's message for a refusal of ``kind``; with ``field``, for that field."""
    if field is not None:
        top = field.split(".", 1)[0]
        return gettext(FIELDS.get(top, GENERIC_FIELD))
    return gettext(PROBLEMS.get(kind, PROBLEMS["error"]))


DONE: dict[str, str] = {
    "erased": N_("Your account is erased. Your personal data is removed everywhere."),
    "signed-out": N_("You are signed out."),
}
"""What a page says after an action that sent the reader to it (``?done=erased``)."""
DONE.update(
    {
        "registered": N_("You are registered. Now create a team or join one by its invite link."),
        "team-created": N_("Your team is created. Share its invite link with your teammates."),
        "joined": N_("You joined the team."),
        "left": N_("You left the team."),
        "submitted": N_("Your submission is saved."),
        "submitted-pending": N_(
            "Your submission is saved. The other services will see it in a moment."
        ),
    }
)
DONE["scored"] = N_("Your score is saved. You can revise it until the results are published.")
DONE.update(
    {
        "created": N_("The hackathon is created, in its draft phase."),
        "phase": N_("The phase is moved."),
        "phase-pending": N_("The phase is moved. The other services will follow in a moment."),
        "judge-enrolled": N_("The judge is enrolled."),
        "conflicts-changed": N_("The judge's declared conflicts are changed."),
        "webhook-added": N_("The webhook is added."),
        "webhook-removed": N_("The webhook is removed."),
        "published": N_("The results are published. Everyone is being notified."),
    }
)
