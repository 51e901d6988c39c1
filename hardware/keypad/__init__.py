"""keypad"""
