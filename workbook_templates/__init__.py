"""Workbook specifications and their builders."""
