"""标准化建设: which items of 支部标准化建设 lose points, where."""

from pages._composite import composite_page

composite_page("standardization")
