"""pbr does the work: metadata, version and data_files live in setup.cfg."""
import setuptools

setuptools.setup(setup_requires=['pbr>=6.0'], pbr=True)
