"""Generated product titles and descriptions whose words depend on the category.

Words come from three pools: the category's own nouns and adjectives, a vocabulary every
category shares (marketing words, brands), and noise words. A fraction of titles borrow a noun
from another category, so bag-of-words is good but not perfect, as with real listings.
"""

import numpy as np

CATEGORY_WORDS = {
    "apparel": ("shirt jacket dress jeans sweater hoodie scarf socks coat skirt",
                "cotton slim fit knit woven casual"),
    "books": ("novel cookbook biography guide anthology paperback hardcover atlas memoir thriller",
              "illustrated bestselling annotated signed unabridged"),
    "electronics": ("headphones charger speaker tablet monitor keyboard camera router drone cable",
                    "wireless bluetooth smart digital rechargeable"),
    "furniture": ("sofa chair table shelf desk bed dresser bench cabinet stool",
                  "oak upholstered modular solid walnut"),
    "garden": ("planter hose shovel seeds rake lantern trellis pots fertilizer sprinkler",
               "outdoor weatherproof organic perennial raised"),
    "groceries": ("coffee tea pasta honey cereal olive chocolate rice snacks spices",
                  "organic roasted fresh gourmet fairtrade"),
    "jewelry": ("necklace ring bracelet earrings pendant brooch anklet locket chain charm",
                "silver gold sterling gemstone handcrafted"),
    "kitchen": ("pan knife blender kettle skillet mixer toaster grater ladle colander",
                "nonstick stainless cast dishwasher ceramic"),
    "sports": ("racket ball helmet yoga dumbbell bicycle gloves treadmill jersey skates",
               "training pro lightweight breathable adjustable"),
    "toys": ("puzzle doll blocks robot kite plush train marbles puppet dinosaur",
             "educational colorful wooden interactive kids"),
}
SHARED = (
    "new", "classic", "premium", "deluxe", "essential", "everyday", "compact", "set", "pack",
    "edition", "value", "best", "quality", "gift", "favorite", "original")
BRANDS = (
    "acme", "northwind", "contoso", "fabrikam", "globex", "initech", "umbrella", "hooli",
    "vandelay", "wayne", "stark", "tyrell")
NOISE = (
    "the", "and", "with", "for", "of", "in", "by", "this", "that", "our", "your", "great",
    "perfect", "ideal", "every", "day", "home", "style", "design", "made", "easy", "simple")


def vocabulary(name: str) -> tuple[list[str], list[str]]:
  """(nouns, adjectives) of a category."""
  nouns, adjectives = CATEGORY_WORDS[name]
  return nouns.split(), adjectives.split()


def title(rng: np.random.Generator, name: str, colour: str, others: list[str],
          borrow: float = 0.25) -> str:
  """A title like "Acme wireless blue speaker" (sometimes with a noun from another category)."""
  nouns, adjectives = vocabulary(name)
  if rng.random() < borrow:
    nouns, _ = vocabulary(others[rng.integers(len(others))])
  words = [BRANDS[rng.integers(len(BRANDS))].capitalize()]
  if rng.random() < 0.5:
    words.append(SHARED[rng.integers(len(SHARED))])
  if rng.random() < 0.6:  # otherwise only the (maybe borrowed) noun hints at the category
    words.append(adjectives[rng.integers(len(adjectives))])
  if rng.random() < 0.6:
    words.append(colour)
  words.append(nouns[rng.integers(len(nouns))])
  return " ".join(words)


def description(rng: np.random.Generator, name: str, others: list[str]) -> str:
  """12-30 words: category words (~12%), shared, noise and other categories' words."""
  nouns, adjectives = vocabulary(name)
  other_nouns, _ = vocabulary(others[rng.integers(len(others))])
  pools = (nouns + adjectives, list(SHARED), list(NOISE), other_nouns)
  choice = rng.choice(len(pools), size=int(rng.integers(12, 31)), p=(0.12, 0.3, 0.5, 0.08))
  words = [pools[k][rng.integers(len(pools[k]))] for k in choice]
  return (" ".join(words).capitalize()) + "."
