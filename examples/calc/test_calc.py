import unittest

from calc import divide, mean


class TestCalc(unittest.TestCase):
    def test_divide(self):
        self.assertEqual(divide(6, 3), 2)

    def test_mean(self):
        self.assertAlmostEqual(mean([1, 2, 4]), 7 / 3)


if __name__ == "__main__":
    unittest.main()
