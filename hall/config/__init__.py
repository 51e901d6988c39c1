"""The hall config: its schema (pydantic), the working calendar, clerk PIN hashes."""
