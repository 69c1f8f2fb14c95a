"""Pelican's settings for the example site: pages and posts at extensionless URLs, one small theme
of its own, and nothing that needs the network at build time."""

AUTHOR = "The Example Team"
SITENAME = "Example Site"
SITEURL = ""
PATH = "content"
THEME = "theme"
TIMEZONE = "UTC"
DEFAULT_LANG = "en"
DEFAULT_DATE_FORMAT = "%-d %B %Y"

# Pages and posts are written as NAME.html and linked as NAME: publish.py uploads each under its
# extensionless key (`about.html` becomes `about`) with an HTML content type.
PAGE_PATHS = ["pages"]
ARTICLE_PATHS = ["posts"]
PAGE_URL = "{slug}"
PAGE_SAVE_AS = "{slug}.html"
ARTICLE_URL = "posts/{slug}"
ARTICLE_SAVE_AS = "posts/{slug}.html"

# Only the pages this theme has templates for: no category, tag, author or archive pages.
DIRECT_TEMPLATES = ["index"]
CATEGORY_SAVE_AS = ""
CATEGORIES_SAVE_AS = ""
TAG_SAVE_AS = ""
TAGS_SAVE_AS = ""
AUTHOR_SAVE_AS = ""
AUTHORS_SAVE_AS = ""
ARCHIVES_SAVE_AS = ""
DEFAULT_PAGINATION = False

# No feeds (they need SITEURL), no relative-URL guessing.
FEED_ALL_ATOM = None
CATEGORY_FEED_ATOM = None
TRANSLATION_FEED_ATOM = None
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None
RELATIVE_URLS = False
