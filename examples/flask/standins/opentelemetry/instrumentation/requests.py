"""Stand-in for RequestsInstrumentor: a no-op (see ../../README.md)."""


class RequestsInstrumentor:
    def instrument(self, **kwargs):
        pass
