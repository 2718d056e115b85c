"""Read an admin page as a person does: the text of an element, the rows of a table (standard library only)."""

from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
INLINE = {"a", "abbr", "b", "code", "em", "i", "small", "span", "strong", "sub", "sup", "time"}


class _Element:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: "_Element | None") -> None:
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[_Element | str] = []

    def text(self) -> str:
        return " ".join(self._raw().split())

    def _raw(self) -> str:
        """Inline elements run on with their neighbours; any other element is set apart by spaces."""
        parts = []
        for child in self.children:
            if isinstance(child, str):
                parts.append(child)
            elif child.tag in INLINE:
                parts.append(child._raw())
            else:
                parts.append(f" {child._raw()} ")
        return "".join(parts)

    def find_all(self, tag: str) -> list["_Element"]:
        found = []
        for child in self.children:
            if isinstance(child, _Element):
                if child.tag == tag:
                    found.append(child)
                found += child.find_all(tag)
        return found


class _Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Element("document", {}, None)
        self.current = self.root
        self.by_id: dict[str, _Element] = {}

    def handle_starttag(self, tag, attrs):
        element = _Element(tag, dict(attrs), self.current)
        self.current.children.append(element)
        if element.attrs.get("id"):
            self.by_id.setdefault(element.attrs["id"], element)
        if tag not in VOID:
            self.current = element

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


class Page:
    """An HTML page's elements by id, their text and their tables' rows."""

    def __init__(self, html: str) -> None:
        tree = _Tree()
        tree.feed(html)
        self.html = html
        self.root = tree.root
        self.by_id = tree.by_id

    def element(self, element_id: str) -> _Element:
        assert element_id in self.by_id, f"no element #{element_id} on the page"
        return self.by_id[element_id]

    def text(self, element_id: str) -> str:
        return self.element(element_id).text()

    def rows(self, element_id: str) -> list[list[str]]:
        """The body rows (cells' text) of the table with this id, or of the tables inside the element."""
        element = self.element(element_id)
        tables = [element] if element.tag == "table" else element.find_all("table")
        return [
            [cell.text() for cell in row.children if isinstance(cell, _Element) and cell.tag in ("td", "th")]
            for table in tables
            for body in table.find_all("tbody")
            for row in body.find_all("tr")
        ]

    def attrs(self, element_id: str) -> dict[str, str | None]:
        return self.element(element_id).attrs
