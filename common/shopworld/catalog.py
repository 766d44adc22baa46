"""The shop's categories and items: what each category looks like, costs and sells like.

A category is the ground-truth label behind three observable signals: an item's image (a shape
family and colour, `images.py`), its title and description (a vocabulary, `text.py`) and its
price (a log-normal distribution). Categories share colours and words on purpose, so no single
feature gives the label away, while all of them together make it learnable.
"""

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Category:
  """The generating parameters of one category (part of the world's ground truth)."""
  name: str
  shape: str            # image family, see images.SHAPES
  hue: float            # base colour of the shape, 0..1 on the HSV hue circle
  colour_word: str      # the word a title uses for that colour
  price_median: float   # median price in dollars
  price_sigma: float    # log-normal spread of the price
  peak_day: int         # day of the year when demand peaks (yearly seasonality)
  seasonality: float    # yearly amplitude of demand (0 = flat)
  weekend_lift: float   # how much more sells on Saturday and Sunday


# Colours repeat across categories (apparel/toys red, garden/kitchen green-teal...) so colour alone
# cannot separate them; shapes differ but are drawn with jitter and noise.
CATEGORIES = (
    Category("apparel", "stripes", 0.00, "red", 35.0, 0.45, 100, 0.25, 0.35),
    Category("books", "rectangle", 0.08, "brown", 14.0, 0.35, 330, 0.20, 0.20),
    Category("electronics", "grid", 0.60, "blue", 180.0, 0.70, 340, 0.35, 0.10),
    Category("furniture", "frame", 0.08, "orange", 240.0, 0.55, 60, 0.15, 0.45),
    Category("garden", "disc", 0.30, "green", 28.0, 0.50, 130, 0.60, 0.50),
    Category("groceries", "dots", 0.15, "yellow", 6.0, 0.40, 355, 0.10, 0.30),
    Category("jewelry", "diamond", 0.78, "purple", 120.0, 0.80, 45, 0.40, 0.15),
    Category("kitchen", "ring", 0.45, "teal", 40.0, 0.50, 320, 0.20, 0.25),
    Category("sports", "cross", 0.60, "blue", 55.0, 0.55, 160, 0.30, 0.40),
    Category("toys", "checker", 0.00, "red", 22.0, 0.50, 350, 0.55, 0.30),
)


@dataclasses.dataclass
class Items:
  """The catalog, one entry per item (columns as NumPy arrays; index i is item i)."""
  item_id: np.ndarray        # str, "item_00042"
  category: np.ndarray       # int, index into the world's categories
  price: np.ndarray          # float, dollars with cents
  title: list[str]
  description: list[str]
  image: np.ndarray          # uint8 [n, size, size, 3]
  image_png: list[bytes]

  def __len__(self) -> int:
    return len(self.item_id)

  def image_path(self, i: int, categories: list[str]) -> str:
    """Where item i's PNG is written, relative to the world directory."""
    return f"images/{categories[self.category[i]]}/{self.item_id[i]}.png"


@dataclasses.dataclass
class ItemTruth:
  """Per-item ground truth that the written files do not show directly."""
  popularity: np.ndarray     # long-tailed weight of being chosen within its category
  quality: np.ndarray        # shifts the ratings the item gets
  release_day: np.ndarray    # first day the item can be bought
  related: np.ndarray        # int [n, k]: items often bought right after this one


def sample_items(rng: np.random.Generator, num_items: int, num_days: int,
                 categories=CATEGORIES, num_related: int = 4):
  """Draws the items' categories, prices and hidden properties.

  Returns:
    (category, price, ItemTruth, category_share): titles and images are made by text/images.
  """
  num_categories = len(categories)
  # Unequal category sizes, as in a real shop (and so "majority class" is a real baseline).
  category_share = rng.dirichlet(np.full(num_categories, 4.0))
  category = rng.choice(num_categories, size=num_items, p=category_share)
  median = np.array([c.price_median for c in categories])[category]
  sigma = np.array([c.price_sigma for c in categories])[category]
  price = np.round(median * np.exp(sigma * rng.standard_normal(num_items)), 2)
  price = np.maximum(price, 0.99) - 0.01 * (rng.random(num_items) < 0.5)  # x.99 endings
  # Long-tailed popularity (Pareto-like), the reason "most popular" is a strong baseline.
  popularity = rng.pareto(1.2, num_items) + 0.05
  quality = 0.5 * rng.standard_normal(num_items)
  # Most of the catalog exists at the start; the rest launches over time (cold-start items).
  launches_later = rng.random(num_items) < 0.3
  release_day = np.where(launches_later, rng.integers(0, max(num_days - 30, 1), num_items), 0)
  # Items bought together: mostly the same category, sometimes a neighbouring one.
  related = np.empty((num_items, num_related), dtype=np.int64)
  by_category = [np.flatnonzero(category == c) for c in range(num_categories)]
  for i in range(num_items):
    c = category[i] if rng.random() < 0.75 else (category[i] + 1) % num_categories
    pool = by_category[c] if len(by_category[c]) > 1 else np.arange(num_items)
    related[i] = rng.choice(pool, size=num_related, replace=len(pool) <= num_related)
  truth = ItemTruth(popularity=popularity, quality=quality, release_day=release_day, related=related)
  return category, np.round(price, 2), truth, category_share
