"""Tests of headless workbook input and output."""
