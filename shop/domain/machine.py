"""One kind of state machine for everything in the shop that has a lifecycle: the order, its lines,
its refunds (the withdrawal next). Each is a table of steps, every step citing the clause that
allows it; the table is checked when its module is imported (as Vendure checks its order process)
and the published diagram is drawn from the same table (STYLE.md, example 1).

Why it is built this way (STACK-NOTES.md, "transitions with SQLModel rows"): one `transitions.Machine`
per lifecycle, `model=None`, built once, fired on a tiny slotted object that carries only the state,
costs some 12 µs a trigger and keeps nothing alive; a machine per subject costs 100–450 µs and
10–20 KB, and `add_model` leaks or scans. The events each state allows are computed once: the table
never changes after import.

Creating a subject (placing an order, recording a refund) is a step with no sources. It is not a
transition of the `transitions` machine, which has no "nothing yet" state: `start(event, state)` runs
its guards and returns a `Transition` from None. One event may create the subject in several initial
states (an order placed by card or by instalments), one step per state; every other event is one
step, whose sources may be many and whose destination may be its source (a "self" step, such as a
recorded failed payment attempt).

Guards are plain functions of the context passed to `fire`/`start`; they raise a `DomainError` with
their own code and clause, or return True.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from transitions import Machine

from shop.domain.errors import TransitionRefused

logging.getLogger("transitions").setLevel(logging.WARNING)

StateT = TypeVar("StateT", bound=StrEnum)


@dataclass(frozen=True)
class Step(Generic[StateT]):
    """One row of a lifecycle table. No `sources`: the step creates its subject in `dest`."""

    event: str
    sources: tuple[StateT, ...]
    dest: StateT
    clause: str
    meaning: str
    guards: tuple[Callable[..., bool], ...] = ()

    @property
    def creates(self) -> bool:
        return not self.sources


@dataclass(frozen=True, slots=True)
class Transition(Generic[StateT]):
    """What happened, for the subject's timeline. `from_state` is None when the step created it."""

    machine: str
    event: str
    from_state: StateT | None
    to_state: StateT
    clause: str
    meaning: str


class _Subject:
    """What the machine fires on: only the state, so no subject is kept alive by the machine."""

    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


class Lifecycle(Generic[StateT]):
    """A lifecycle table, its machine and its checks. `initial`: the states a subject may start in;
    `final`: the states it may rest in (it may still have ways out, as a cancelled order honoured
    for a timely payment)."""

    def __init__(self, name: str, states: type[StateT], steps: Iterable[Step[StateT]], *,
                 initial: Iterable[StateT], final: Iterable[StateT]) -> None:
        self.name = name
        self.states = states
        self.steps: tuple[Step[StateT], ...] = tuple(steps)
        self.initial: tuple[StateT, ...] = tuple(initial)
        self.final: tuple[StateT, ...] = tuple(final)
        self.subject = f"{'an' if name[:1] in 'aeiou' else 'a'} {name}"
        self.moves = tuple(step for step in self.steps if not step.creates)
        self.creations = tuple(step for step in self.steps if step.creates)
        self._check_shape()
        self._by_event = {step.event: step for step in reversed(self.steps)}  # the first one wins
        self._created = {(step.event, step.dest): step for step in self.creations}
        self._machine = Machine(
            model=None,
            states=[state.value for state in states],
            transitions=[
                {"trigger": step.event, "source": [s.value for s in step.sources], "dest": step.dest.value,
                 "conditions": list(step.guards)}
                for step in self.moves
            ],
            initial=self.initial[0].value,
            auto_transitions=False,
        )
        # Asked on every transition, the machine would walk all of its events each time (6 µs of
        # the 19 µs a `fire` took); the table never changes once loaded.
        self._allowed = {state: tuple(self._machine.get_triggers(state.value)) for state in states}
        self.check()

    def __repr__(self) -> str:
        return f"Lifecycle({self.name!r}, {self.states.__name__}, {len(self.steps)} steps)"

    # --- using it -------------------------------------------------------------------------------

    def step(self, event: str) -> Step[StateT]:
        """The step of `event` (of a creating event, its first step)."""
        try:
            return self._by_event[event]
        except KeyError:
            raise KeyError(f"the {self.name} lifecycle has no event {event!r}") from None

    def allowed_events(self, state: StateT | str) -> tuple[str, ...]:
        """The events a subject in `state` can take, as the table says."""
        return self._allowed[self.states(state)]

    def fire(self, state: StateT | str, event: str, **context: Any) -> Transition[StateT]:
        """Fire `event` on a subject in `state`; the guards see `context`. Returns the transition,
        or raises `TransitionRefused` (the state does not allow it; the step's clause) or the
        guard's own `DomainError`."""
        step = self.step(event)
        if state is None:
            raise TypeError(f"{self.subject} not yet created is started: use start({event!r}, state)")
        current = self.states(state)
        if event not in self._allowed[current]:
            raise TransitionRefused(
                f"{event}_not_allowed",
                f"{self.subject} that is {current.value} cannot take '{event}' ({step.meaning})",
                clause=step.clause,
            )
        subject = _Subject(current.value)
        if not self._machine.events[event].trigger(subject, **context):
            raise self._guard_said_no(step)
        return Transition(self.name, event, current, self.states(subject.state), step.clause, step.meaning)

    def start(self, event: str, state: StateT | str, **context: Any) -> Transition[StateT]:
        """Create a subject in `state` by the creating step `event`; its guards see `context`."""
        wanted = self.states(state)
        step = self._created.get((event, wanted))
        if step is None:
            known = self.step(event)
            into = " or ".join(s.dest.value for s in self.creations if s.event == event)
            raise TransitionRefused(
                f"{event}_not_allowed",
                f"'{event}' does not create {self.subject} that is {wanted.value} "
                + (f"(it creates one that is {into})" if into else f"({known.meaning})"),
                clause=known.clause,
            )
        if not all(guard(**context) for guard in step.guards):
            raise self._guard_said_no(step)
        return Transition(self.name, event, None, wanted, step.clause, step.meaning)

    def _guard_said_no(self, step: Step[StateT]) -> TransitionRefused:
        # Guards raise their own error; one that only returned False still must not pass unseen.
        return TransitionRefused(f"{step.event}_not_allowed",
                                 f"{self.subject} cannot take '{step.event}' now ({step.meaning})",
                                 clause=step.clause)

    # --- checking it ----------------------------------------------------------------------------

    def unreachable_states(self) -> set[StateT]:
        """States no path from an initial state reaches."""
        seen: set[StateT] = set(self.initial)
        queue = deque(self.initial)
        while queue:
            state = queue.popleft()
            for step in self.moves:
                if state in step.sources and step.dest not in seen:
                    seen.add(step.dest)
                    queue.append(step.dest)
        return set(self.states) - seen

    def dead_ends(self) -> set[StateT]:
        """Non-final states with no way to another state (a self step is no way out)."""
        return {state for state in self.states if state not in self.final
                and not any(state in step.sources and step.dest != state for step in self.moves)}

    def check(self) -> None:
        """Raise when a state cannot be reached or, not final, cannot be left (run at construction,
        so a broken table fails at import)."""
        unreachable, dead_ends = sorted(self.unreachable_states()), sorted(self.dead_ends())
        if unreachable or dead_ends:
            raise RuntimeError(f"the {self.name} lifecycle table is broken: unreachable states "
                               f"{[s.value for s in unreachable]}, dead ends {[s.value for s in dead_ends]}")

    def _check_shape(self) -> None:
        problems = []
        if not self.initial:
            problems.append("no initial state")
        for state in (*self.initial, *self.final):
            if not isinstance(state, self.states):
                problems.append(f"{state!r} is not a {self.states.__name__}")
        for step in self.steps:
            for state in (*step.sources, step.dest):
                if not isinstance(state, self.states):
                    problems.append(f"'{step.event}' names {state!r}, not a {self.states.__name__}")
            if not step.clause or not step.meaning.strip():
                problems.append(f"'{step.event}' cites no clause or says nothing")
        moving = [step.event for step in self.moves]
        problems += [f"'{event}' is more than one step" for event in sorted(set(moving))
                     if moving.count(event) > 1]
        creating = [(step.event, step.dest) for step in self.creations]
        problems += [f"'{event}' is both a step and a creation" for event in
                     sorted(set(moving) & {event for event, _ in creating})]
        problems += [f"'{event}' creates in {dest!r} twice" for event, dest in sorted(set(creating))
                     if creating.count((event, dest)) > 1]
        created_in = {dest for _, dest in creating}
        if creating and created_in != set(self.initial):
            problems.append(f"the initial states {[str(s) for s in self.initial]} are not those created "
                            f"{sorted(str(s) for s in created_in)}")
        if problems:
            raise RuntimeError(f"the {self.name} lifecycle table is broken: {'; '.join(problems)}")

    # --- drawing it -----------------------------------------------------------------------------

    def mermaid(self) -> str:
        """The Mermaid state diagram, drawn from the same table by transitions' mermaid engine
        (no graphviz); every initial state is entered from `[*]`, labelled with its creating step."""
        from transitions.extensions import GraphMachine

        class Drawing:  # GraphMachine attaches its helpers to a model of its own
            pass

        graph = GraphMachine(
            model=Drawing(),
            states=[state.value for state in self.states],
            transitions=[
                {"trigger": f"{step.event} ({step.clause})", "source": [s.value for s in step.sources],
                 "dest": step.dest.value}
                for step in self.moves
            ],
            initial=self.initial[0].value,
            auto_transitions=False,
            graph_engine="mermaid",
            show_state_attributes=False,
        )
        lines = graph.get_graph().draw(None).rstrip("\n").split("\n")
        # transitions draws one initial state, unlabelled; drawn here: each one, with its creation.
        drawn = f"  [*] --> {self.initial[0].value}"
        if drawn in lines:
            lines.remove(drawn)
        for state in self.initial:
            labels = " | ".join(f"{s.event} ({s.clause})" for s in self.creations if s.dest == state)
            lines.append(f"  [*] --> {state.value}: {labels}" if labels else f"  [*] --> {state.value}")
        return "\n".join(lines) + "\n"
