"""What count_words must do; every test fails until it is written."""

from wordcount import count_words


def test_empty_text_has_no_words() -> None:
    assert count_words("") == {}


def test_words_are_counted() -> None:
    assert count_words("the cat and the hat") == {"the": 2, "cat": 1, "and": 1, "hat": 1}


def test_case_does_not_matter() -> None:
    assert count_words("Go go GO") == {"go": 3}


def test_punctuation_is_not_part_of_a_word() -> None:
    assert count_words("Hello, world! Hello.") == {"hello": 2, "world": 1}


def test_apostrophes_stay_inside_words() -> None:
    assert count_words("don't stop, don't") == {"don't": 2, "stop": 1}


def test_any_whitespace_separates_words() -> None:
    assert count_words("one\ttwo\nthree  one") == {"one": 2, "two": 1, "three": 1}
