"""kmeans_lib: k-means colour quantization, usable without Streamlit."""
