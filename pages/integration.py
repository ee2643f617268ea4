"""党建业务融合: which items of 党建与业务融合 lose points, where."""

from pages._composite import composite_page

composite_page("integration")
