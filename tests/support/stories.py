"""Our stories and rules as Rasa generates them for training: realistic event sequences."""

from __future__ import annotations

from pathlib import Path

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.core.generator import TrackerWithCachedStates, TrainingDataGenerator
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.core.training_data.structures import StoryGraph

from tests.support.processes import REPO_ROOT

STORY_FOLDERS = ("data/stories", "data/rules", "tests/stories")


def load_domain() -> Domain:
    return Domain.load(str(REPO_ROOT / "domain"))


def story_trackers(
    domain: Domain, folders: tuple[str, ...] = STORY_FOLDERS, remove_duplicates: bool = False
) -> list[TrackerWithCachedStates]:
    """The trackers Rasa trains on for every story and rule in ``folders`` (no augmentation)."""
    reader = YAMLStoryReader(domain)
    steps = []
    for folder in folders:
        for path in sorted((Path(REPO_ROOT) / folder).glob("*.yml")):
            steps.extend(reader.read_from_file(str(path)))
    return TrainingDataGenerator(
        StoryGraph(steps), domain, remove_duplicates=remove_duplicates, augmentation_factor=0
    ).generate()


def story_events(domain: Domain, folders: tuple[str, ...] = STORY_FOLDERS) -> list[list[Event]]:
    """The events of every story and rule in ``folders`` (no augmentation)."""
    return [list(tracker.events) for tracker in story_trackers(domain, folders)]
